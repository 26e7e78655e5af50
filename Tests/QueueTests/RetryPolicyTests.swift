@testable import Queue
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 6, base: .seconds(1), cap: .seconds(10))

    @Test func ceilingDoublesUpToTheCap() {
        #expect((1...6).map { policy.ceiling(afterAttempt: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
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
        let outcome = OutcomePolicy.outcome(for: .retryable("upstream 503"), envelope: envelope, queue: "q", policy: policy, now: 1000, random: 0.5)
        guard case .retry(let next, let delay) = outcome else { Issue.record("expected a retry, got \(outcome)"); return }
        #expect(next.attempt == 3)
        #expect(next.id == envelope.id)
        #expect(next.history.map(\.error) == ["upstream 503"])
        #expect(delay == .seconds(1))

        let last = Envelope(kind: "k", attempt: 3, maxAttempts: 3, payload: "{}")
        guard case .dead(let letter) = OutcomePolicy.outcome(for: .retryable("again"), envelope: last, queue: "q", policy: policy, now: 2000) else {
            Issue.record("expected a dead letter"); return
        }
        #expect(letter.error == "again (attempt 3 of 3)")
        #expect(letter.lastFailedAt == 2000)
    }

    @Test func permanentFailuresDeadLetterAtOnce() {
        let envelope = Envelope(kind: "k", attempt: 1, maxAttempts: 9, payload: "{}")
        guard case .dead(let letter) = OutcomePolicy.outcome(for: .permanent("400 bad request"), envelope: envelope, queue: "q", policy: policy, now: 5) else {
            Issue.record("expected a dead letter"); return
        }
        #expect(letter.error == "400 bad request")
        #expect(letter.firstFailedAt == 5)
        #expect(letter.envelope.history.count == 1)
    }
}
