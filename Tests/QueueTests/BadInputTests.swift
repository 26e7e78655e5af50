import Foundation
import Redis
import TestSupport
import Testing

@testable import Queue

@Suite struct BadInputTests {
    struct Strict: Decodable, Sendable { var ms: Int }

    func harnessAndConsumer(maxPayload: Int = 1 << 20) async throws -> (Harness, StreamConsumer) {
        let h = try await Harness(prefix: "bad\(UUID().uuidString.prefix(8))")
        let strict = JobDefinition(
            kind: "strict", queue: "q", retry: .exponentialJitter(maxAttempts: 5), timeout: .seconds(5), payload: Strict.self
        ) { _, _ in .done }
        let registry = JobRegistry([strict, TestKinds.recorded(runsKey: h.runsKey)])
        let configuration = ConsumerConfiguration(queues: ["q"], concurrency: 4, maxPayloadBytes: maxPayload, maxFieldBytes: 1024)
        return (h, StreamConsumer(configuration: configuration, registry: registry, broker: h.broker, logger: Harness.logger))
    }

    /// Feeds the entries, then a good job; the good job must still run (the consumer survived).
    func feed(_ h: Harness, _ consumer: StreamConsumer, _ raw: [[String]]) async throws -> [DeadLetter] {
        try await h.running([consumer]) {
            for fields in raw { _ = try await h.pool.send(RedisCommand("XADD", [h.keys.stream("q"), "*"] + fields)) }
            let good = try await h.enqueue("recorded")
            #expect(await eventually { (try? await h.runs()[good.id]) == 1 })
            #expect(await eventually { (try? await h.deadCount()) == raw.count })
        }
        return try await h.deadLetters()
    }

    @Test func unknownKindDeadLettersNamingTheKind() async throws {
        let (h, consumer) = try await harnessAndConsumer()
        let envelope = Envelope(kind: "transcribe-v9", maxAttempts: 3, payload: "{}")
        let letters = try await feed(h, consumer, [envelope.fields])
        #expect(letters.first?.error == "unknown job kind 'transcribe-v9'")
        #expect(letters.first?.envelope.id == envelope.id)
    }

    @Test func undecodablePayloadsDeadLetterAtOnce() async throws {
        let (h, consumer) = try await harnessAndConsumer()
        let letters = try await feed(
            h, consumer,
            [
                Envelope(kind: "strict", maxAttempts: 5, payload: "{not json").fields,
                Envelope(kind: "strict", maxAttempts: 5, payload: #"{"ms": "soon"}"#).fields,
                Envelope(kind: "strict", maxAttempts: 5, payload: #"{}"#).fields,
            ])
        let errors = letters.map(\.error).sorted()
        #expect(errors.count == 3)
        #expect(errors.contains { $0.contains("undecodable payload for kind 'strict'") && $0.contains("not valid JSON") })
        #expect(errors.contains { $0.contains("ms is not Int") })
        #expect(errors.contains { $0.contains("missing field 'ms'") })
        #expect(letters.allSatisfy { $0.envelope.attempt == 1 })
    }

    @Test func malformedEnvelopesDeadLetterWithWhatTheyCarried() async throws {
        let (h, consumer) = try await harnessAndConsumer()
        let letters = try await feed(
            h, consumer,
            [
                ["kind", "strict", "payload", "{}"],
                ["id", "J1", "kind", "strict", "attempt", "x", "max_attempts", "1", "enqueued_at", "1", "payload", "{}"],
            ])
        let errors = Set(letters.map(\.error))
        #expect(errors.contains("malformed envelope: missing field 'id'"))
        #expect(errors.contains("malformed envelope: field 'attempt' has an invalid value 'x'"))
        #expect(letters.contains { $0.envelope.id == "J1" })
    }

    @Test func oversizedFieldsDeadLetterWithTheirSize() async throws {
        let (h, consumer) = try await harnessAndConsumer(maxPayload: 2048)
        let big = "{\"ms\": 1, \"pad\": \"" + String(repeating: "x", count: 5000) + "\"}"
        var longTrace = Envelope(kind: "strict", maxAttempts: 1, payload: #"{"ms": 1}"#)
        longTrace.trace = String(repeating: "t", count: 4096)
        let letters = try await feed(
            h, consumer,
            [
                Envelope(kind: "strict", maxAttempts: 1, payload: big).fields,
                longTrace.fields,
            ])
        let errors = Set(letters.map(\.error))
        #expect(errors.contains("field 'payload' is \(big.utf8.count) bytes, over the limit of 2048 bytes"))
        #expect(errors.contains("field 'trace' is 4096 bytes, over the limit of 1024 bytes"))
    }
}
