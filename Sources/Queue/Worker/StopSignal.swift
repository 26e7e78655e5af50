import Dispatch
import Redis
import Synchronization

/// The one way a background duty (of the consumer, of the scheduler) learns that it should end: a
/// flag raised once, which the duty checks between steps and naps on. A nap ends early when the
/// flag is raised or the task is cancelled, and says so, so every loop written as
/// `while await signal.nap(delay) { … }` ends on either — a cancelled `Task.sleep` would otherwise
/// return at once, and a loop around `try? await Task.sleep` spin for ever.
///
/// A nap is one suspension, resumed by whichever comes first — its timer, `raise()`, cancellation —
/// exactly once: a heartbeat napping on it wakes as promptly on a starved machine as a plain sleep.
public final class StopSignal: Sendable {
    private struct State {
        var raised = false
        var nappers: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var isRaised: Bool { state.withLock { $0.raised } }

    /// True while the duty should go on: not raised, not cancelled.
    public var goOn: Bool { !isRaised && !Task.isCancelled }

    public func raise() {
        let nappers = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.raised = true
            defer { state.nappers = [:] }
            return Array(state.nappers.values)
        }
        for napper in nappers { napper.resume() }
    }

    /// Waits until the signal is raised or the task is cancelled.
    public func wait() async {
        await suspend(for: nil)
    }

    /// Sleeps `duration`, or less if the signal is raised or the task cancelled meanwhile; returns
    /// whether the duty should go on.
    public func nap(_ duration: Duration) async -> Bool {
        guard goOn else { return false }
        await suspend(for: duration)
        return goOn
    }

    private func suspend(for duration: Duration?) async {
        let id = state.withLock { state -> Int in
            state.nextID &+= 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let napping = state.withLock { state -> Bool in
                    if state.raised || Task.isCancelled { return false }
                    state.nappers[id] = continuation
                    return true
                }
                guard napping else {
                    continuation.resume()
                    return
                }
                if let duration {
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: max(duration, .zero).nanoseconds))) {
                        [self] in
                        wake(id)
                    }
                }
            }
        } onCancel: {
            wake(id)
        }
    }

    private func wake(_ id: Int) {
        state.withLock { $0.nappers.removeValue(forKey: id) }?.resume()
    }
}
