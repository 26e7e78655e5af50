import Logging
import Redis
import Synchronization

/// Acknowledges finished jobs in batches: one XACK + XDEL script per queue for everything that
/// finished since the last write, so acknowledging costs a fraction of a round trip per job.
///
/// A job's slot is given back (and its entry leaves `InFlightEntries`) only once its
/// acknowledgement is written, so a Redis outage stalls intake instead of piling up unwritten acks.
/// A failed write is kept and tried again with backoff; if the process dies first, or the consumer
/// is cancelled, or stopping takes past `deadline`, the entries stay pending and run again
/// elsewhere (at-least-once). Acknowledgements of entries another consumer has claimed meanwhile
/// are dropped by the script, never applied.
///
/// When a write gives back slots the fetcher was waiting for, what finishes meanwhile is left for
/// the fetcher's read to carry (`takeWaiting`): written ahead of the read in one round trip, as
/// BullMQ's `moveToFinished` fetches the next job. The fetcher says when its pass is over
/// (`fetcherPassed`) before it waits for anything, and hands back whatever it could not write, so
/// nothing is left waiting on a fetcher that is not about to read.
final class AckBatcher: Sendable {
    private struct State {
        var pending: [String: [Broker.Finished]] = [:]
        var count = 0
        var waiter: CheckedContinuation<Void, Never>?
        var finishing = false
        /// The last write woke the fetcher: what finishes meanwhile is left for its read to carry.
        var leftToFetcher = false
        /// The fetcher has stopped reading: nothing is left to it any more.
        var fetcherStopped = false

        var ready: Bool { finishing || (count > 0 && !leftToFetcher) }
    }

    private let state = Mutex(State())
    private let broker: Broker
    private let consumer: String
    private let limit: ConcurrencyLimit
    private let inFlight: InFlightEntries
    private let logger: Logger

    init(broker: Broker, consumer: String, limit: ConcurrencyLimit, inFlight: InFlightEntries, logger: Logger) {
        self.broker = broker
        self.consumer = consumer
        self.limit = limit
        self.inFlight = inFlight
        self.logger = logger
    }

    /// Queues an acknowledgement with what the attempt's history record is made of; the job's
    /// slot is released once it is written.
    func ack(queue: String, entryID: String, envelope: Envelope? = nil, milliseconds: UInt64 = 0) {
        let finished = Broker.Finished(entryID: entryID, envelope: envelope, milliseconds: milliseconds)
        limit.willRelease(1)
        wake { state in
            state.pending[queue, default: []].append(finished)
            state.count += 1
        }
    }

    /// Ends `run()` once everything queued so far is written (or `deadline` has passed).
    func finish() {
        wake { $0.finishing = true }
    }

    /// Writes acknowledgements until `finish()` and the queue is empty. After `finish()`, gives up
    /// on writes still failing at `deadline`, leaving those entries pending; on cancellation, gives
    /// up at once.
    func run(deadline: @Sendable () -> ContinuousClock.Instant?) async {
        var backoff = Backoff()
        let retrying = StopSignal()
        while true {
            let (batch, count, finishing) = await next()
            if count == 0 && finishing { return }
            var failed: [String: [Broker.Finished]] = [:]
            for (queue, ids) in batch {
                do {
                    written(queue, ids, acked: try await broker.ack(queue, consumer: consumer, finished: ids))
                    settle(queue, ids)
                } catch {
                    failed[queue] = ids
                    logger.warning(
                        "acknowledgement failed; will retry", metadata: ["queue": "\(queue)", "jobs": "\(ids.count)", "error": "\(error)"])
                }
            }
            if failed.isEmpty {
                backoff.reset()
                continue
            }
            let pastDeadline = finishing && deadline().map { ContinuousClock.now >= $0 } == true
            if pastDeadline || Task.isCancelled {
                let lost = failed.values.reduce(0) { $0 + $1.count }
                logger.error(
                    "giving up on acknowledgements at shutdown; the jobs stay pending and will run again", metadata: ["jobs": "\(lost)"])
                for (queue, ids) in failed { settle(queue, ids) }
                continue
            }
            giveBack(failed)
            _ = await retrying.nap(backoff.nextDelay())
        }
    }

    /// Takes the acknowledgements waiting to be written, for the fetcher to send ahead of its next
    /// read; it hands them back to `carried` or `giveBack`.
    func takeWaiting() -> (batch: [String: [Broker.Finished]], count: Int) {
        state.withLock { state in
            guard state.count > 0, !state.finishing else { return ([:], 0) }
            defer {
                state.pending = [:]
                state.count = 0
            }
            return (state.pending, state.count)
        }
    }

    /// How the acknowledgements the fetcher carried went: the written ones' slots are given back,
    /// the failed ones queued again for this acknowledger to retry.
    func carried(_ batch: [String: [Broker.Finished]], outcome: [String: Result<Int, RedisError>]) {
        var failed: [String: [Broker.Finished]] = [:]
        for (queue, finished) in batch {
            switch outcome[queue] {
            case .success(let acked):
                written(queue, finished, acked: acked)
                settle(queue, finished)
            case .failure(let error):
                // Redis not knowing the script yet (just started or restarted) is no news: the
                // acknowledger's own write loads it.
                logger.log(
                    level: error.serverCode == "NOSCRIPT" ? .debug : .warning, "acknowledgement failed; will retry",
                    metadata: ["queue": "\(queue)", "jobs": "\(finished.count)", "error": "\(error)"])
                failed[queue] = finished
            case nil:
                failed[queue] = finished
            }
        }
        giveBack(failed)
    }

    /// Queues acknowledgements taken by `takeWaiting` again, first in line.
    func giveBack(_ batch: [String: [Broker.Finished]]) {
        guard !batch.isEmpty else { return }
        wake { state in
            for (queue, finished) in batch {
                state.pending[queue, default: []].insert(contentsOf: finished, at: 0)
                state.count += finished.count
            }
        }
    }

    /// The fetcher's pass is over (it carried what it could): this acknowledger writes the rest.
    func fetcherPassed() {
        wake { $0.leftToFetcher = false }
    }

    /// The fetcher reads no more: nothing is left to it from now on.
    func fetcherStopped() {
        wake { state in
            state.fetcherStopped = true
            state.leftToFetcher = false
        }
    }

    private func wake(_ change: (inout State) -> Void) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            change(&state)
            guard state.ready else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private func written(_ queue: String, _ finished: [Broker.Finished], acked: Int) {
        if acked < finished.count {
            logger.notice(
                "acknowledgements dropped: the entries had been claimed or settled by another consumer",
                metadata: ["queue": "\(queue)", "jobs": "\(finished.count - acked)"])
        }
    }

    /// Gives the slots back. When that wakes the fetcher to read into them, acknowledgements of
    /// jobs finishing meanwhile are left to go with that read rather than in a round trip of their
    /// own. (Marked before the slots are given back: the fetcher may finish its pass first.)
    private func settle(_ queue: String, _ finished: [Broker.Finished]) {
        inFlight.settled(queue, finished.map(\.entryID))
        let leaving = state.withLock { state -> Bool in
            guard !state.fetcherStopped, !state.finishing else { return false }
            state.leftToFetcher = true
            return true
        }
        if !limit.release(finished.count, announced: true) && leaving { wake { $0.leftToFetcher = false } }
    }

    private func next() async -> ([String: [Broker.Finished]], Int, Bool) {
        while true {
            let taken = state.withLock { state -> ([String: [Broker.Finished]], Int, Bool)? in
                if state.ready {
                    let batch = state.pending
                    let count = state.count
                    state.pending = [:]
                    state.count = 0
                    return (batch, count, state.finishing)
                }
                return nil
            }
            if let taken { return taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.ready { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
