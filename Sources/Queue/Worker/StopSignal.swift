import Synchronization

/// The one way a background duty (of the consumer, of the scheduler) learns that it should end: a flag raised once,
/// which the duty checks between steps and naps on. A nap ends early when the flag is raised or
/// the task is cancelled, and says so, so every loop written as
/// `while await signal.nap(delay) { … }` ends on either — a cancelled `Task.sleep` would otherwise
/// return at once, and a loop around `try? await Task.sleep` spin for ever.
public final class StopSignal: Sendable {
    private struct State {
        var raised = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var isRaised: Bool { state.withLock { $0.raised } }

    /// True while the duty should go on: not raised, not cancelled.
    public var goOn: Bool { !isRaised && !Task.isCancelled }

    public func raise() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.raised = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the signal is raised or the task is cancelled.
    public func wait() async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = state.withLock { state -> Bool in
                    if state.raised || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if done { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Sleeps `duration`, or less if the signal is raised or the task cancelled meanwhile; returns
    /// whether the duty should go on.
    public func nap(_ duration: Duration) async -> Bool {
        guard goOn else { return false }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { await self.wait() }
            await group.next()
            group.cancelAll()
        }
        return goOn
    }
}
