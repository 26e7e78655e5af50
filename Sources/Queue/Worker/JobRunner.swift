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
    let watchdog: TimeoutWatchdog
    let logger: Logger

    struct Ran: Sendable {
        var outcome: Outcome
        var envelope: Envelope?
        var kind: String
        var nanoseconds: Int64
        /// The watchdog cancelled the job's task: what is written next must not run in it.
        var timedOut = false
    }

    func run(_ entry: StreamEntry, queue: String) async -> Ran {
        let envelope: Envelope
        do {
            envelope = try Envelope(fields: entry.fields)
        } catch {
            let salvaged = Envelope.salvage(entry.fieldMap, entryID: entry.id)
            return Ran(
                outcome: .dead(DeadLetter(failing: salvaged, queue: queue, error: error.description, now: WallClock.unixMilliseconds())),
                envelope: salvaged, kind: "unknown", nanoseconds: 0)
        }
        if let problem = sizeProblem(entry.fields) {
            return Ran(
                outcome: .dead(DeadLetter(failing: envelope, queue: queue, error: problem, now: WallClock.unixMilliseconds())),
                envelope: envelope, kind: envelope.kind, nanoseconds: 0)
        }
        guard let definition = registry[envelope.kind] else {
            return Ran(
                outcome: .dead(
                    DeadLetter(
                        failing: envelope, queue: queue, error: "unknown job kind '\(envelope.kind)'", now: WallClock.unixMilliseconds())),
                envelope: envelope, kind: "unknown", nanoseconds: 0)
        }
        let context = JobContext(
            id: envelope.id, kind: envelope.kind, queue: queue, attempt: envelope.attempt, maxAttempts: envelope.maxAttempts,
            enqueuedAt: envelope.enqueuedAt, flow: envelope.flow, trace: envelope.trace, redis: redis, baseLogger: logger)

        let started = ContinuousClock.now
        let payload = envelope.payload
        let (ran, timedOut) = await watchdog.run(timeout: definition.timeout) { () -> Result<JobResult, any Error> in
            do { return .success(try await definition.execute(payload, context)) } catch { return .failure(error) }
        }
        let nanoseconds = (ContinuousClock.now - started).nanoseconds

        let outcome: Outcome
        switch ran {
        // A handler that returned a result finished, even if its deadline passed as it did.
        case .success(.done):
            outcome = .done
        case .success(.next(let request)):
            outcome = .next(request)
        case .success(.later(let delay)):
            outcome = .later(envelope, after: delay)
        case .failure where timedOut:
            let failure = JobFailure.retryable("timed out after \(definition.timeout)")
            outcome = OutcomePolicy.outcome(
                for: failure, envelope: envelope, queue: queue, policy: definition.retry, now: WallClock.unixMilliseconds())
            context.logger.warning("job failed", metadata: ["error": "\(failure.description)", "outcome": "\(outcome.label)"])
        case .failure(let error) where Task.isCancelled:
            context.logger.notice("job abandoned at shutdown; it is given back for another consumer", metadata: ["error": "\(error)"])
            outcome = .abandoned
        case .failure(let error):
            let failure = error as? JobFailure ?? .retryable(String(describing: error))
            outcome = OutcomePolicy.outcome(
                for: failure, envelope: envelope, queue: queue, policy: definition.retry, now: WallClock.unixMilliseconds())
            if case .throttled(_, let after) = outcome {
                context.logger.info(
                    "job held back by a limit; it runs again later, no attempt counted",
                    metadata: ["reason": "\(failure.description)", "after": "\(after)"])
            } else {
                context.logger.warning("job failed", metadata: ["error": "\(failure.description)", "outcome": "\(outcome.label)"])
            }
        }
        return Ran(outcome: outcome, envelope: envelope, kind: envelope.kind, nanoseconds: nanoseconds, timedOut: timedOut)
    }

    private func sizeProblem(_ fields: [(String, String)]) -> String? {
        for (name, value) in fields {
            let limit = name == "payload" ? configuration.maxPayloadBytes : configuration.maxFieldBytes
            let size = value.utf8.count
            if size > limit { return "field '\(name)' is \(size) bytes, over the limit of \(limit) bytes" }
        }
        return nil
    }
}

extension Envelope {
    /// An envelope rebuilt from whatever fields a malformed entry had, so it can be dead-lettered
    /// with everything it carried.
    static func salvage(_ fields: [String: String], entryID: String) -> Envelope {
        var envelope = Envelope(
            id: fields["id"] ?? "entry-\(entryID)", kind: fields["kind"] ?? "", attempt: Int(fields["attempt"] ?? "") ?? 1,
            maxAttempts: Int(fields["max_attempts"] ?? "") ?? 1, enqueuedAt: UInt64(fields["enqueued_at"] ?? "") ?? 0,
            payload: fields["payload"] ?? "", flow: fields["flow"], trace: fields["trace"], dedupe: fields["dedupe"])
        envelope.history = fields["history"].flatMap(FailureRecord.decode) ?? []
        return envelope
    }
}
