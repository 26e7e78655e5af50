import Testing

@testable import Queue

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 6, base: .seconds(1), cap: .seconds(10))

    @Test func ceilingDoublesUpToTheCap() {
        #expect(
            (1...6).map { policy.ceiling(afterAttempt: $0) } == [
                .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10),
            ])
    }

    @Test func fullJitterSpansZeroToTheCeiling() {
        for attempt in 1...5 {
            let ceiling = policy.ceiling(afterAttempt: attempt)
            let samples = (0..<2000).map { _ in policy.delay(afterAttempt: attempt) }
            #expect(samples.allSatisfy { $0 >= .zero && $0 <= ceiling })
            let mean = samples.reduce(Duration.zero, +) / samples.count
            // Uniform on [0, ceiling]: the mean sits near the middle, and the samples differ.
            #expect(mean > ceiling * 0.4 && mean < ceiling * 0.6)
            #expect(Set(samples).count > 1000)
        }
    }

    @Test func retryAfterIsTheMinimum() {
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(30), random: 0.5) == .seconds(30))
        #expect(policy.delay(afterAttempt: 4, retryAfter: .milliseconds(10), random: 1) == .seconds(8))
    }

    @Test func retryableFailuresRetryUntilMaxAttempts() {
        let envelope = Envelope(kind: "k", attempt: 2, maxAttempts: 3, payload: "{}")
        let outcome = OutcomePolicy.outcome(
            for: .retryable("upstream 503"), envelope: envelope, queue: "q", policy: policy, now: 1000, random: 0.5)
        guard case .retry(let next, let delay) = outcome else { Issue.record("expected a retry, got \(outcome)"); return }
        #expect(next.attempt == 3)
        #expect(next.id == envelope.id)
        #expect(next.history.map(\.error) == ["upstream 503"])
        #expect(delay == .seconds(1))

        let last = Envelope(kind: "k", attempt: 3, maxAttempts: 3, payload: "{}")
        guard
            case .dead(let letter) = OutcomePolicy.outcome(for: .retryable("again"), envelope: last, queue: "q", policy: policy, now: 2000)
        else {
            Issue.record("expected a dead letter"); return
        }
        #expect(letter.error == "again (attempt 3 of 3)")
        #expect(letter.lastFailedAt == 2000)
    }

    @Test func permanentFailuresDeadLetterAtOnce() {
        let envelope = Envelope(kind: "k", attempt: 1, maxAttempts: 9, payload: "{}")
        guard
            case .dead(let letter) = OutcomePolicy.outcome(
                for: .permanent("400 bad request"), envelope: envelope, queue: "q", policy: policy, now: 5)
        else {
            Issue.record("expected a dead letter"); return
        }
        #expect(letter.error == "400 bad request")
        #expect(letter.firstFailedAt == 5)
        #expect(letter.envelope.history.count == 1)
    }

    /// Held back costs no attempt, but not forever: past the policy's bound the job is a dead
    /// letter naming the limit; before it, it is put back no sooner than the floor, whatever the
    /// service advised.
    @Test func aJobHeldBackLongerThanItsBoundIsDeadLetteredNamingTheLimit() {
        let bounded = policy.holdingBack(atMost: .seconds(300))
        var envelope = Envelope(kind: "k", attempt: 1, maxAttempts: 4, payload: "{}")
        envelope.enqueuedAt = 1_000_000
        let throttled = JobFailure.throttled("POST /openai/v1/chat/completions answered 429", retryAfter: .zero)
        let early = OutcomePolicy.outcome(for: throttled, envelope: envelope, queue: "generate", policy: bounded, now: 1_000_000 + 299_000)
        #expect(early == .throttled(envelope, after: RetryPolicy.heldBackFloor), "Retry-After: 0 waits the floor, with no attempt counted")
        let late = OutcomePolicy.outcome(for: throttled, envelope: envelope, queue: "generate", policy: bounded, now: 1_000_000 + 300_000)
        guard case .dead(let letter) = late else { Issue.record("expected a dead letter, got \(late)"); return }
        #expect(
            letter.error == "held back by limits for 5 min, longer than the 5 min allowed: POST /openai/v1/chat/completions answered 429")
        #expect(letter.queue == "generate")
        // The default bound, for background work, is hours.
        #expect(
            OutcomePolicy.outcome(for: throttled, envelope: envelope, queue: "q", policy: policy, now: 1_000_000 + 3_600_000)
                == .throttled(envelope, after: .seconds(1)))
        #expect(policy.heldBackAtMost == .seconds(6 * 3600))
    }
}
