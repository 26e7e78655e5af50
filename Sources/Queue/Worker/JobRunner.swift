import Logging
import Redis

/// Runs one delivered entry: reads the envelope, finds the kind, checks sizes, runs the handler
/// under its timeout, and turns what happened into an `Outcome`. Never throws and never crashes on
/// bad input: an unknown kind, a malformed envelope, an oversized field or an undecodable payload
/// becomes a dead letter that says so.
struct JobRunner: Sendable {
    let registry: JobRegistry
    let configuration: ConsumerConfiguration
    let redis: RedisPool
    let logger: Logger

    struct Ran: Sendable {
        var outcome: Outcome
        var envelope: Envelope?
        var kind: String
        var nanoseconds: Int64
    }

    func run(_ entry: StreamEntry, queue: String) async -> Ran {
        let fields = entry.fieldMap
        let now = Clock.unixMilliseconds()
        let envelope: Envelope
        do {
            envelope = try Envelope(fields: fields)
        } catch {
            let salvaged = Envelope.salvage(fields, entryID: entry.id)
            return Ran(outcome: .dead(DeadLetter(failing: salvaged, queue: queue, error: error.description, now: now)),
                       envelope: salvaged, kind: "unknown", nanoseconds: 0)
        }
        if let problem = sizeProblem(fields) {
            return Ran(outcome: .dead(DeadLetter(failing: envelope, queue: queue, error: problem, now: now)),
                       envelope: envelope, kind: envelope.kind, nanoseconds: 0)
        }
        guard let definition = registry[envelope.kind] else {
            return Ran(outcome: .dead(DeadLetter(failing: envelope, queue: queue, error: "unknown job kind '\(envelope.kind)'", now: now)),
                       envelope: envelope, kind: "unknown", nanoseconds: 0)
        }
        var logger = self.logger
        logger[metadataKey: "job.id"] = "\(envelope.id)"
        logger[metadataKey: "job.kind"] = "\(envelope.kind)"
        logger[metadataKey: "queue"] = "\(queue)"
        logger[metadataKey: "attempt"] = "\(envelope.attempt)"
        let context = JobContext(
            id: envelope.id, kind: envelope.kind, queue: queue, attempt: envelope.attempt, maxAttempts: envelope.maxAttempts,
            enqueuedAt: envelope.enqueuedAt, trace: envelope.trace, redis: redis, logger: logger)

        let started = ContinuousClock.now
        let result = await Self.execute(definition, payload: envelope.payload, context: context)
        let elapsed = ContinuousClock.now - started
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000

        let outcome: Outcome
        switch result {
        case .success(.done):
            outcome = .done
        case .success(.next(let request)):
            outcome = .next(request)
        case .failure(let failure) where Task.isCancelled:
            logger.notice("job abandoned at shutdown; it stays pending for another consumer", metadata: ["error": "\(failure)"])
            outcome = .abandoned
        case .failure(let failure):
            outcome = OutcomePolicy.outcome(for: failure, envelope: envelope, queue: queue, policy: definition.retry, now: Clock.unixMilliseconds())
            logger.warning("job failed", metadata: ["error": "\(failure.description)", "outcome": "\(outcome.label)"])
        }
        return Ran(outcome: outcome, envelope: envelope, kind: envelope.kind, nanoseconds: nanoseconds)
    }

    private func sizeProblem(_ fields: [String: String]) -> String? {
        for (name, value) in fields {
            let limit = name == "payload" ? configuration.maxPayloadBytes : configuration.maxFieldBytes
            let size = value.utf8.count
            if size > limit { return "field '\(name)' is \(size) bytes, over the limit of \(limit) bytes" }
        }
        return nil
    }

    private struct TimedOut: Error {}

    /// Runs the handler, cancelling it when it outlives the kind's timeout.
    private static func execute(_ definition: JobDefinition, payload: String, context: JobContext) async -> Result<JobResult, JobFailure> {
        do {
            let result = try await withThrowingTaskGroup(of: JobResult?.self) { group in
                group.addTask { try await definition.execute(payload, context) }
                group.addTask {
                    try await Task.sleep(for: definition.timeout)
                    throw TimedOut()
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
            return .success(result ?? .done)
        } catch let failure as JobFailure {
            return .failure(failure)
        } catch is TimedOut {
            return .failure(.retryable("timed out after \(definition.timeout)"))
        } catch {
            return .failure(.retryable(String(describing: error)))
        }
    }
}

extension Envelope {
    /// An envelope rebuilt from whatever fields a malformed entry had, so it can be dead-lettered
    /// with everything it carried.
    static func salvage(_ fields: [String: String], entryID: String) -> Envelope {
        var envelope = Envelope(
            id: fields["id"] ?? "entry-\(entryID)", kind: fields["kind"] ?? "", attempt: Int(fields["attempt"] ?? "") ?? 1,
            maxAttempts: Int(fields["max_attempts"] ?? "") ?? 1, enqueuedAt: UInt64(fields["enqueued_at"] ?? "") ?? 0,
            payload: fields["payload"] ?? "", trace: fields["trace"], dedupe: fields["dedupe"])
        envelope.history = fields["history"].flatMap(FailureRecord.decode) ?? []
        return envelope
    }
}
