import Foundation
import Queue

/// Where a flow starts: the first stage's queue and kind, and that kind's retry budget.
///
/// The producer enqueues exactly one such job per accepted delivery; each stage then hands the
/// flow on to the next stage atomically with its own acknowledgement.
public struct FlowEntry: Sendable {
    public let queue: String
    public let kind: String
    public let retry: RetryPolicy

    /// A request for this entry with `payload` encoded as JSON.
    public func request<Payload: Encodable>(_ payload: Payload, dedupe: String?) throws -> JobRequest {
        let text = String(decoding: try FlowPayloadCoding.encoder.encode(payload), as: UTF8.self)
        return JobRequest(queue: queue, kind: kind, payload: text, maxAttempts: retry.maxAttempts, dedupe: dedupe)
    }
}

/// The four flows that ingress starts. Interactive ones (chat, voice) have short retry budgets — an
/// answer a minute late still helps, an hour late does not; indexing and calls have long ones (a
/// call recording must be fetched within the hour its URL lives, a booking indexed eventually).
public enum Flows {
    /// A guest's text message in Chatwoot → retrieve → generate → reply.
    public static let chat = FlowEntry(queue: "retrieve", kind: "chat.retrieve",
                                       retry: .exponentialJitter(maxAttempts: 4, base: .seconds(2), cap: .seconds(20)))
    /// A guest's voice message (Chatwoot attachment or direct upload) → transcribe → … → reply.
    public static let voice = FlowEntry(queue: "transcribe", kind: "voice.transcribe",
                                        retry: .exponentialJitter(maxAttempts: 4, base: .seconds(2), cap: .seconds(20)))
    /// An Aircall recording or voicemail → download → transcribe → vectorize (+ a note in Chatwoot).
    public static let call = FlowEntry(queue: "download", kind: "call.download",
                                       retry: .exponentialJitter(maxAttempts: 10, base: .seconds(5), cap: .seconds(300)))
    /// A Guesty reservation change → vectorize → triage (labels and team in Chatwoot).
    public static let booking = FlowEntry(queue: "vectorize", kind: "booking.vectorize",
                                          retry: .exponentialJitter(maxAttempts: 12, base: .seconds(5), cap: .seconds(900)))
}

/// One JSON encoder and decoder for flow payloads: snake_case keys come from each type's own
/// coding keys, so the payload reads the same in `redis-cli` as in the code.
enum FlowPayloadCoding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
