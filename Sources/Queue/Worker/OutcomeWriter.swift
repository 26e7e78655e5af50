import Logging
import Redis

/// Writes the outcome of one delivery and gives its slot back. Acknowledgements go through the
/// `AckBatcher`; retries, dead letters and hand-offs each run as one atomic script, which acts only
/// if this consumer still owns the entry.
///
/// A write that fails for a reason that passes — the connection, or Redis answering `LOADING`,
/// `BUSY`, `READONLY` or `MASTERDOWN` around a restart or a failover — is tried again with backoff
/// until it is written, or until the grace period is over or the consumer cancelled (then the
/// entry stays pending and is reclaimed elsewhere: nothing is lost, at worst the job runs again).
/// A job abandoned at the end of the grace period is given back at once (`Broker.release`).
struct OutcomeWriter: Sendable {
    let broker: Broker
    let consumer: String
    let acks: AckBatcher
    let limit: ConcurrencyLimit
    let inFlight: InFlightEntries
    let metrics: QueueMetrics
    let registry: JobRegistry
    let visibilityTimeout: @Sendable (String) -> Duration
    /// Raised when the grace period is over: failing writes stop being retried.
    let graceOver: StopSignal
    let logger: Logger

    func write(_ outcome: Outcome, entryID: String, queue: String, envelope: Envelope?) async {
        metrics.queue(queue).settled(outcome.label)
        switch outcome {
        case .done:
            acks.ack(queue: queue, entryID: entryID)
            return
        case .abandoned:
            do {
                try await broker.release(queue, consumer: consumer, entryIDs: [entryID], visibilityTimeout: visibilityTimeout(queue))
            } catch {
                logger.warning("could not give an abandoned job back; it is reclaimed after the visibility timeout", metadata: meta(queue, envelope, ["error": "\(error)"]))
            }
        case .retry(let next, let delay), .throttled(let next, let delay), .later(let next, let delay):
            let due = Clock.unixMilliseconds() + UInt64(max(delay.milliseconds, 0))
            await persist(queue, envelope) { try await broker.retry(queue, consumer: consumer, entryID: entryID, next: next, dueAt: due) }
        case .dead(let letter):
            logger.error("job dead-lettered", metadata: meta(queue, envelope, ["error": "\(letter.error)"]))
            let buried = await persist(queue, envelope) { try await broker.bury(queue, consumer: consumer, entryID: entryID, letter: letter) }
            if buried, let envelope, let hook = registry[envelope.kind]?.deadLettered {
                await hook(envelope.payload, letter.error, broker.pool, logger)
            }
        case .next(let request):
            var following = request.envelope()
            following.trace = following.trace ?? envelope?.trace
            let next = following
            await persist(queue, envelope) {
                try await broker.handOff(queue, consumer: consumer, entryID: entryID, next: next, nextQueue: request.queue)
            }
        }
        inFlight.settled(queue, [entryID])
        limit.release(1)
    }

    /// Writes an outcome; true when it took effect here (not settled elsewhere, not failed).
    @discardableResult
    private func persist(_ queue: String, _ envelope: Envelope?, _ write: @Sendable () async throws -> Bool) async -> Bool {
        var delay = Backoff()
        while true {
            do {
                if try await write() == false {
                    logger.notice("outcome dropped: the entry was claimed or settled by another consumer", metadata: meta(queue, envelope, [:]))
                    return false
                }
                return true
            } catch let error as RedisError where error.isTransient {
                logger.warning("writing outcome failed; will retry", metadata: meta(queue, envelope, ["error": "\(error)"]))
                guard await graceOver.nap(delay.nextDelay()) else {
                    logger.error("writing outcome abandoned at shutdown; the entry stays pending", metadata: meta(queue, envelope, ["error": "\(error)"]))
                    return false
                }
            } catch {
                logger.error("writing outcome failed; the entry stays pending", metadata: meta(queue, envelope, ["error": "\(error)"]))
                return false
            }
        }
    }

    private func meta(_ queue: String, _ envelope: Envelope?, _ extra: Logger.Metadata) -> Logger.Metadata {
        var metadata = extra
        metadata["queue"] = "\(queue)"
        if let envelope {
            metadata["job.id"] = "\(envelope.id)"
            metadata["job.kind"] = "\(envelope.kind)"
            metadata["attempt"] = "\(envelope.attempt)"
        }
        return metadata
    }
}
