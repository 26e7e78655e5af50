import Testing

@testable import Queue

@Suite struct EnvelopeTests {
    @Test func fieldsRoundTrip() throws {
        var envelope = Envelope(
            kind: "sleep", attempt: 2, maxAttempts: 5, enqueuedAt: 1_700_000_000_000, payload: #"{"ms":1}"#,
            trace: "00-abc-def-01", dedupe: "svix-1")
        envelope.record(FailureRecord(attempt: 1, at: 1_700_000_000_500, error: "boom \"quoted\"\nline"))
        var pairs: [(String, String)] = []
        var index = 0
        let flat = envelope.fields
        while index < flat.count { pairs.append((flat[index], flat[index + 1])); index += 2 }
        #expect(try Envelope(fields: pairs) == envelope)
        #expect(try Envelope(fields: Dictionary(uniqueKeysWithValues: pairs)) == envelope)
    }

    @Test func optionalFieldsAreLeftOut() {
        let fields = Envelope(kind: "noop", maxAttempts: 1, payload: "{}").fields
        #expect(!fields.contains("trace"))
        #expect(!fields.contains("dedupe"))
        #expect(!fields.contains("history"))
    }

    @Test func missingAndMalformedFieldsAreNamed() {
        #expect(throws: EnvelopeError.missingField("kind")) {
            try Envelope(fields: [("id", "1"), ("attempt", "1"), ("max_attempts", "1"), ("enqueued_at", "1"), ("payload", "{}")])
        }
        #expect(throws: EnvelopeError.malformedField("attempt", "two")) {
            try Envelope(fields: [
                ("id", "1"), ("kind", "k"), ("attempt", "two"), ("max_attempts", "1"), ("enqueued_at", "1"), ("payload", "{}"),
            ])
        }
        #expect(throws: EnvelopeError.malformedField("history", "not json")) {
            try Envelope(fields: [
                ("id", "1"), ("kind", "k"), ("attempt", "1"), ("max_attempts", "1"), ("enqueued_at", "1"), ("payload", "{}"),
                ("history", "not json"),
            ])
        }
    }

    @Test func historyIsBounded() {
        var envelope = Envelope(kind: "k", maxAttempts: 50, payload: "{}")
        for attempt in 1...25 { envelope.record(FailureRecord(attempt: attempt, at: UInt64(attempt), error: "e\(attempt)")) }
        #expect(envelope.history.count == Envelope.historyLimit)
        #expect(envelope.history.first?.attempt == 16)
        #expect(envelope.history.last?.attempt == 25)
    }

    @Test func jobIDsSortByTimeAndNeverRepeat() {
        let early = JobID.make(now: 1_700_000_000_000)
        let late = JobID.make(now: 1_700_000_000_001)
        #expect(early.count == 26)
        #expect(early < late)
        let many = (0..<20_000).map { _ in JobID.make(now: 1_700_000_000_000) }
        #expect(Set(many).count == many.count)
    }

    @Test func delayedMembersSurviveEscaping() throws {
        let envelope = Envelope(kind: "k", maxAttempts: 2, payload: "{\"t\":\"tab\\there \\u0001 \\\"q\\\" ü 🚀\"}\n\u{1}")
        let list = try #require(DelayedMember.decode(DelayedMember.encode(envelope)))
        #expect(list == envelope.fields)
    }

    @Test func everyKeySharesTheHashTag() {
        let keys = Keys(prefix: "sb")
        for key in [keys.stream("q"), keys.delayed("q"), keys.dead("q"), keys.dedupe("x"), keys.queues] {
            #expect(key.hasPrefix("{sb}:"))
        }
        #expect(keys.queue(ofStream: keys.stream("transcribe")) == "transcribe")
        #expect(keys.queue(ofStream: "{other}:q:stream") == nil)
    }
}
