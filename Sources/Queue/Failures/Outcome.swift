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
/// job held back by a limit is put back as it was, no sooner than the floor, until it has been
/// held back longer than the policy allows.
enum OutcomePolicy {
    static func outcome(
        for failure: JobFailure, envelope: Envelope, queue: String, policy: RetryPolicy, now: UInt64,
        random: Double = Double.random(in: 0...1)
    ) -> Outcome {
        var failed = envelope
        failed.record(FailureRecord(attempt: envelope.attempt, at: now, error: failure.description))
        let maxAttempts = envelope.maxAttempts > 0 ? envelope.maxAttempts : policy.maxAttempts
        switch failure {
        case .throttled(let message, let retryAfter):
            let waited = Duration.milliseconds(Int64(clamping: now) - Int64(clamping: envelope.enqueuedAt))
            if envelope.enqueuedAt > 0, waited >= policy.heldBackAtMost {
                let error =
                    "held back by limits for \(Self.minutes(waited)), longer than the \(Self.minutes(policy.heldBackAtMost)) allowed: \(message)"
                return .dead(DeadLetter(failing: failed, queue: queue, error: error, now: now))
            }
            return .throttled(envelope, after: max(retryAfter, RetryPolicy.heldBackFloor))
        case .retryable(_, let retryAfter) where envelope.attempt < maxAttempts:
            var next = failed
            next.attempt += 1
            return .retry(next, after: policy.delay(afterAttempt: envelope.attempt, retryAfter: retryAfter, random: random))
        case .retryable(let message, _):
            return .dead(
                DeadLetter(failing: failed, queue: queue, error: "\(message) (attempt \(envelope.attempt) of \(maxAttempts))", now: now))
        case .permanent(let message):
            return .dead(DeadLetter(failing: failed, queue: queue, error: message, now: now))
        }
    }

    /// `4 min 10 s`, `6 h`: a bound as an operator reads it.
    static func minutes(_ duration: Duration) -> String {
        let seconds = max(duration.components.seconds, 0)
        if seconds >= 3600 && seconds % 3600 == 0 { return "\(seconds / 3600) h" }
        if seconds >= 60 { return "\(seconds / 60) min" + (seconds % 60 == 0 ? "" : " \(seconds % 60) s") }
        return "\(seconds) s"
    }
}
