import Logging
import Redis

/// Writes the outcome of one delivery. Acknowledgements go through the `AckBatcher`; retries,
/// dead letters and hand-offs each run as one atomic script, tried again on connection errors
/// until they are written or the process is shutting down (then the entry stays pending and is
/// reclaimed elsewhere: nothing is lost, at worst the job runs again). A job cancelled by its
/// timeout still gets its outcome written (Redis calls do not stop at cancellation), but a write
/// failing on the connection is not retried in that task: the entry stays pending and is reclaimed.
struct OutcomeWriter: Sendable {
    let broker: Broker
    let acks: AckBatcher
    let limit: ConcurrencyLimit
    let metrics: QueueMetrics
    let registry: JobRegistry
    let logger: Logger

    func write(_ outcome: Outcome, entryID: String, queue: String, envelope: Envelope?) async {
        metrics.queue(queue).settled(outcome.label)
        switch outcome {
        case .done:
            acks.ack(queue: queue, entryID: entryID)
            return
        case .abandoned:
            break
        case .retry(let next, let delay):
            let due = Clock.unixMilliseconds() + UInt64(max(delay.milliseconds, 0))
            await persist(queue, envelope) { try await broker.retry(queue, entryID: entryID, next: next, dueAt: due) }
        case .dead(let letter):
            logger.error("job dead-lettered", metadata: meta(queue, envelope, ["error": "\(letter.error)"]))
            let buried = await persist(queue, envelope) { try await broker.bury(queue, entryID: entryID, letter: letter) }
            if buried, let envelope, let hook = registry[envelope.kind]?.deadLettered {
                await hook(envelope.payload, letter.error, logger)
            }
        case .next(let request):
            var following = request.envelope()
            following.trace = following.trace ?? envelope?.trace
            let next = following
            await persist(queue, envelope) { try await broker.handOff(queue, entryID: entryID, next: next, nextQueue: request.queue) }
        }
        limit.release(1)
    }

    /// Writes an outcome; true when it took effect here (not settled elsewhere, not failed).
    @discardableResult
    private func persist(_ queue: String, _ envelope: Envelope?, _ write: @Sendable () async throws -> Bool) async -> Bool {
        var delay = Backoff()
        while true {
            do {
                if try await write() == false {
                    logger.notice("outcome dropped: the entry was already settled by another consumer", metadata: meta(queue, envelope, [:]))
                    return false
                }
                return true
            } catch let error as RedisError where error.isConnectionProblem && !Task.isCancelled {
                logger.warning("writing outcome failed; will retry", metadata: meta(queue, envelope, ["error": "\(error)"]))
                try? await Task.sleep(for: delay.nextDelay())
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
