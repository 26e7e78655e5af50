import Synchronization

/// The bound on jobs in flight in one consumer process, shared by the fetchers of all its queues.
///
/// A fetcher asks for up to n slots and gets at least one (waiting while none is free), reads that
/// many entries at most, and gives back what it did not use; each job gives its slot back when its
/// outcome is written. Waiting is cancellable: a cancelled waiter gets 0 slots.
///
/// Slots come back in batches (acknowledgements are written together), so a fetcher that took
/// whatever one batch gave back would read a few entries at a time while the rest of the slots are
/// about to come back: at concurrency 32 that made about ten jobs per read and twice the CPU per
/// job of concurrency 200. So while fewer than `gatherMost` slots (or half the capacity, if less)
/// are free and finished jobs are still waiting for their acknowledgement to be written
/// (`willRelease`), a waiter waits for them too — at most the round trip of the writes already
/// under way. When no finished job is waiting, any free slot is taken at once, so long-running
/// jobs never leave slots idle. (Waiting for half of a large capacity left slots idle for nothing:
/// at concurrency 200 it cost a tenth of the throughput and saved no CPU.)
final class ConcurrencyLimit: Sendable {
    private struct Waiter {
        let id: Int
        let wanted: Int
        let continuation: CheckedContinuation<Int, Never>
    }

    private struct State {
        var free: Int
        /// Slots of finished jobs that come back once their acknowledgement is written.
        var returning = 0
        var waiters: [Waiter] = []
        var nextID = 0
        /// Free slots worth a read while more are about to come back.
        let gather: Int

        /// How many slots a waiter wanting `wanted` gets now, if it is not worth waiting for more.
        mutating func grant(_ wanted: Int) -> Int? {
            guard free > 0, free >= min(wanted, gather) || returning == 0 else { return nil }
            let take = min(free, wanted)
            free -= take
            return take
        }
    }

    let capacity: Int
    /// Entries per read past which the read's own cost no longer matters.
    static let gatherMost = 16
    private let state: Mutex<State>

    init(capacity: Int) {
        precondition(capacity > 0, "concurrency must be at least 1")
        self.capacity = capacity
        self.state = Mutex(State(free: capacity, gather: max(1, min(capacity / 2, Self.gatherMost))))
    }

    /// Jobs currently holding a slot.
    var used: Int { capacity - state.withLock { $0.free } }

    /// Callers waiting for slots.
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Takes between 1 and `wanted` slots, waiting until at least one is free (and, while finished
    /// jobs' slots are about to come back, until enough are); 0 if cancelled.
    func acquire(upTo wanted: Int) async -> Int {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
                let granted = state.withLock { state -> Int? in
                    if Task.isCancelled { return 0 }
                    if state.waiters.isEmpty, let take = state.grant(wanted) { return take }
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

    /// Announces slots of finished jobs that `release(_:announced: true)` gives back soon.
    func willRelease(_ count: Int) {
        state.withLock { $0.returning += count }
    }

    /// Returns slots (`announced`: ones `willRelease` announced) and wakes waiters in turn, each
    /// taking at most what it asked for; true when a waiter was given slots.
    @discardableResult
    func release(_ count: Int, announced: Bool = false) -> Bool {
        guard count > 0 else { return false }
        let wakeups = state.withLock { state -> [(CheckedContinuation<Int, Never>, Int)] in
            state.free += count
            if announced { state.returning -= count }
            var wakeups: [(CheckedContinuation<Int, Never>, Int)] = []
            while let waiter = state.waiters.first, let take = state.grant(waiter.wanted) {
                state.waiters.removeFirst()
                wakeups.append((waiter.continuation, take))
            }
            return wakeups
        }
        for (continuation, take) in wakeups { continuation.resume(returning: take) }
        return !wakeups.isEmpty
    }
}
