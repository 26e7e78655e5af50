/// What became of one delivery, decided by `OutcomePolicy` and written by the worker in one atomic
/// step. `abandoned` writes nothing: the entry stays pending for another consumer to reclaim.
enum Outcome: Sendable, Equatable {
    case done
    case next(JobRequest)
    case retry(Envelope, after: Duration)
    /// Put back unchanged (same attempt, same history) to run after the delay: a limit held it.
    case throttled(Envelope, after: Duration)
    /// Put back unchanged to run after the delay: the handler has nothing to do until then.
    case later(Envelope, after: Duration)
    case dead(DeadLetter)
    case abandoned

    var label: String {
        switch self {
        case .done: "done"
        case .next: "handed_off"
        case .retry: "retried"
        case .throttled: "throttled"
        case .later: "later"
        case .dead: "dead"
        case .abandoned: "abandoned"
        }
    }
}

/// Turns a failure into an outcome: a retry while the policy allows, otherwise a dead letter; a
/// job held back by a limit is put back as it was.
enum OutcomePolicy {
    static func outcome(for failure: JobFailure, envelope: Envelope, queue: String, policy: RetryPolicy, now: UInt64,
                        random: Double = Double.random(in: 0...1)) -> Outcome {
        var failed = envelope
        failed.record(FailureRecord(attempt: envelope.attempt, at: now, error: failure.description))
        let maxAttempts = envelope.maxAttempts > 0 ? envelope.maxAttempts : policy.maxAttempts
        switch failure {
        case .throttled(_, let retryAfter):
            return .throttled(envelope, after: retryAfter)
        case .retryable(_, let retryAfter) where envelope.attempt < maxAttempts:
            var next = failed
            next.attempt += 1
            return .retry(next, after: policy.delay(afterAttempt: envelope.attempt, retryAfter: retryAfter, random: random))
        case .retryable(let message, _):
            return .dead(DeadLetter(failing: failed, queue: queue, error: "\(message) (attempt \(envelope.attempt) of \(maxAttempts))", now: now))
        case .permanent(let message):
            return .dead(DeadLetter(failing: failed, queue: queue, error: message, now: now))
        }
    }
}
