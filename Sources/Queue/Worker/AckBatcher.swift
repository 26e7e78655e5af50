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
final class AckBatcher: Sendable {
    private struct State {
        var pending: [String: [Broker.Finished]] = [:]
        var count = 0
        var waiter: CheckedContinuation<Void, Never>?
        var finishing = false
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
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.pending[queue, default: []].append(finished)
            state.count += 1
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Ends `run()` once everything queued so far is written (or `deadline` has passed).
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finishing = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
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
                    let acked = try await broker.ack(queue, consumer: consumer, finished: ids)
                    if acked < ids.count {
                        logger.notice(
                            "acknowledgements dropped: the entries had been claimed or settled by another consumer",
                            metadata: ["queue": "\(queue)", "jobs": "\(ids.count - acked)"])
                    }
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
            state.withLock { state in
                for (queue, ids) in failed {
                    state.pending[queue, default: []].insert(contentsOf: ids, at: 0)
                    state.count += ids.count
                }
            }
            _ = await retrying.nap(backoff.nextDelay())
        }
    }

    private func settle(_ queue: String, _ finished: [Broker.Finished]) {
        inFlight.settled(queue, finished.map(\.entryID))
        limit.release(finished.count, announced: true)
    }

    private func next() async -> ([String: [Broker.Finished]], Int, Bool) {
        while true {
            let taken = state.withLock { state -> ([String: [Broker.Finished]], Int, Bool)? in
                if state.count > 0 || state.finishing {
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
                    if state.count > 0 || state.finishing { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
