import Synchronization

/// The bound on jobs in flight in one consumer process, shared by the fetchers of all its queues.
///
/// A fetcher asks for up to n slots and gets at least one (waiting while none is free), reads that
/// many entries at most, and gives back what it did not use; each job gives its slot back when its
/// outcome is written. Waiting is cancellable: a cancelled waiter gets 0 slots.
final class ConcurrencyLimit: Sendable {
    private struct Waiter {
        let id: Int
        let wanted: Int
        let continuation: CheckedContinuation<Int, Never>
    }

    private struct State {
        var free: Int
        var waiters: [Waiter] = []
        var nextID = 0
    }

    let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        precondition(capacity > 0, "concurrency must be at least 1")
        self.capacity = capacity
        self.state = Mutex(State(free: capacity))
    }

    /// Jobs currently holding a slot.
    var used: Int { capacity - state.withLock { $0.free } }

    /// Takes between 1 and `wanted` slots, waiting until at least one is free; 0 if cancelled.
    func acquire(upTo wanted: Int) async -> Int {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
                let granted = state.withLock { state -> Int? in
                    if Task.isCancelled { return 0 }
                    if state.free > 0 {
                        let take = min(state.free, wanted)
                        state.free -= take
                        return take
                    }
                    state.waiters.append(Waiter(id: id, wanted: wanted, continuation: continuation))
                    return nil
                }
                if let granted { continuation.resume(returning: granted) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: 0)
        }
    }

    /// Takes exactly `count` slots, waiting as long as it takes; false (holding none) if cancelled.
    func acquire(exactly count: Int) async -> Bool {
        var held = 0
        while held < count {
            let got = await acquire(upTo: count - held)
            if got == 0 {
                release(held)
                return false
            }
            held += got
        }
        return true
    }

    /// Returns slots and wakes waiters, each taking at most what it asked for.
    func release(_ count: Int) {
        guard count > 0 else { return }
        let wakeups = state.withLock { state -> [(CheckedContinuation<Int, Never>, Int)] in
            state.free += count
            var wakeups: [(CheckedContinuation<Int, Never>, Int)] = []
            while state.free > 0, !state.waiters.isEmpty {
                let waiter = state.waiters.removeFirst()
                let take = min(state.free, waiter.wanted)
                state.free -= take
                wakeups.append((waiter.continuation, take))
            }
            return wakeups
        }
        for (continuation, take) in wakeups { continuation.resume(returning: take) }
    }
}
