import Logging
import Redis
import Synchronization

/// Acknowledges finished jobs in batches: one XACK + XDEL script per queue for everything that
/// finished since the last write, so acknowledging costs a fraction of a round trip per job.
///
/// A job's slot is given back only once its acknowledgement is written, so a Redis outage stalls
/// intake instead of piling up unwritten acks. A failed write is kept and tried again with backoff;
/// if the process dies first, the entries stay pending and run again elsewhere (at-least-once).
final class AckBatcher: Sendable {
    private struct State {
        var pending: [String: [String]] = [:]
        var count = 0
        var waiter: CheckedContinuation<Void, Never>?
        var finishing = false
    }

    private let state = Mutex(State())
    private let broker: Broker
    private let limit: ConcurrencyLimit
    private let logger: Logger

    init(broker: Broker, limit: ConcurrencyLimit, logger: Logger) {
        self.broker = broker
        self.limit = limit
        self.logger = logger
    }

    /// Queues an acknowledgement; the job's slot is released once it is written.
    func ack(queue: String, entryID: String) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.pending[queue, default: []].append(entryID)
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
    /// on writes still failing at `deadline`, leaving those entries pending.
    func run(deadline: @Sendable () -> ContinuousClock.Instant?) async {
        var backoff = Backoff()
        while true {
            let (batch, count, finishing) = await next()
            if count == 0 && finishing { return }
            var written = 0
            var failed: [String: [String]] = [:]
            for (queue, ids) in batch {
                do {
                    try await broker.ack(queue, entryIDs: ids)
                    written += ids.count
                } catch {
                    failed[queue] = ids
                    logger.warning("acknowledgement failed; will retry", metadata: ["queue": "\(queue)", "jobs": "\(ids.count)", "error": "\(error)"])
                }
            }
            limit.release(written)
            if failed.isEmpty {
                backoff.reset()
                continue
            }
            if finishing, let deadline = deadline(), ContinuousClock.now >= deadline {
                let lost = failed.values.reduce(0) { $0 + $1.count }
                logger.error("giving up on acknowledgements at shutdown; the jobs stay pending and will run again", metadata: ["jobs": "\(lost)"])
                limit.release(lost)
                continue
            }
            state.withLock { state in
                for (queue, ids) in failed {
                    state.pending[queue, default: []].insert(contentsOf: ids, at: 0)
                    state.count += ids.count
                }
            }
            try? await Task.sleep(for: backoff.nextDelay())
        }
    }

    private func next() async -> ([String: [String]], Int, Bool) {
        while true {
            let taken = state.withLock { state -> ([String: [String]], Int, Bool)? in
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
