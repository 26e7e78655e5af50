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

    /// `milliseconds` is how long the attempt ran, for the queue's history.
    func write(_ outcome: Outcome, entryID: String, queue: String, envelope: Envelope?, milliseconds: UInt64 = 0) async {
        metrics.queue(queue).settled(outcome.label)
        switch outcome {
        case .done:
            acks.ack(queue: queue, entryID: entryID, envelope: envelope, milliseconds: milliseconds)
            return
        case .abandoned:
            do {
                try await broker.release(queue, consumer: consumer, entryIDs: [entryID], visibilityTimeout: visibilityTimeout(queue))
            } catch {
                logger.warning(
                    "could not give an abandoned job back; it is reclaimed after the visibility timeout",
                    metadata: meta(queue, envelope, ["error": "\(error)"]))
            }
        case .retry(let next, let delay):
            let due = WallClock.unixMilliseconds() + UInt64(max(delay.milliseconds, 0))
            await persist(queue, envelope) {
                try await broker.retry(queue, consumer: consumer, entryID: entryID, next: next, dueAt: due, milliseconds: milliseconds)
            }
        case .throttled(let next, let delay), .later(let next, let delay):
            // Put back as it was: no attempt ended, so the history records nothing.
            let due = WallClock.unixMilliseconds() + UInt64(max(delay.milliseconds, 0))
            await persist(queue, envelope) { try await broker.putBack(queue, consumer: consumer, entryID: entryID, next: next, dueAt: due) }
        case .dead(let letter):
            logger.error("job dead-lettered", metadata: meta(queue, envelope, ["error": "\(letter.error)"]))
            let buried = await persist(queue, envelope) {
                try await broker.bury(queue, consumer: consumer, entryID: entryID, letter: letter, milliseconds: milliseconds)
            }
            if buried, let envelope, let hook = registry[envelope.kind]?.deadLettered {
                await hook(envelope.payload, letter.error, broker.pool, logger)
            }
        case .next(let request):
            let next = Self.following(request, after: envelope)
            await persist(queue, envelope) {
                try await broker.handOff(
                    queue, consumer: consumer, entryID: entryID, next: next, nextQueue: request.queue,
                    finished: envelope, milliseconds: milliseconds)
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
                    logger.notice(
                        "outcome dropped: the entry was claimed or settled by another consumer", metadata: meta(queue, envelope, [:]))
                    return false
                }
                return true
            } catch let error as RedisError where error.isTransient {
                logger.warning("writing outcome failed; will retry", metadata: meta(queue, envelope, ["error": "\(error)"]))
                guard await graceOver.nap(delay.nextDelay()) else {
                    logger.error(
                        "writing outcome abandoned at shutdown; the entry stays pending",
                        metadata: meta(queue, envelope, ["error": "\(error)"]))
                    return false
                }
            } catch {
                logger.error("writing outcome failed; the entry stays pending", metadata: meta(queue, envelope, ["error": "\(error)"]))
                return false
            }
        }
    }

    /// The next stage's envelope: in the flow of the job that hands on, continuing its trace as a
    /// child of its span, unless the handler chose otherwise.
    static func following(_ request: JobRequest, after envelope: Envelope?) -> Envelope {
        var request = request
        if let envelope {
            request.flow = request.flow ?? envelope.flow
            request.trace = request.trace ?? envelope.trace.flatMap(TraceParent.init).map { $0.child(of: envelope.id).description }
        }
        return request.envelope()
    }

    private func meta(_ queue: String, _ envelope: Envelope?, _ extra: Logger.Metadata) -> Logger.Metadata {
        var metadata = extra
        metadata["queue"] = "\(queue)"
        if let envelope {
            metadata["flow.id"] = "\(envelope.flow)"
            metadata["job.id"] = "\(envelope.id)"
            metadata["job.kind"] = "\(envelope.kind)"
            metadata["attempt"] = "\(envelope.attempt)"
        }
        return metadata
    }
}
