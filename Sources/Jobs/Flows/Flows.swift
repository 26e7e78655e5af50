import Foundation
import Queue
import Services

/// Where a flow starts: the first stage's queue and kind, the setting that changes its retry
/// budget (`RETRY_CHAT`) and that budget's default.
///
/// The producer enqueues exactly one such job per accepted delivery; each stage then hands the
/// flow on to the next stage atomically with its own acknowledgement.
public struct FlowEntry: Sendable {
    public let queue: String
    public let kind: String
    /// The flow's budget setting, `RETRY_<FLOW>`.
    public let setting: String
    /// The budget when the operator set none.
    public let retry: RetryPolicy

    public init(queue: String, kind: String, setting: String, retry: RetryPolicy) {
        self.queue = queue
        self.kind = kind
        self.setting = setting
        self.retry = retry
    }

    /// The same flow's budget for a request of another of its stages.
    public func stage(_ kind: String, queue: String) -> FlowEntry {
        FlowEntry(queue: queue, kind: kind, setting: setting, retry: retry)
    }

    /// A request for this entry with `payload` encoded as JSON, its attempts from `budgets`.
    public func request<Payload: Encodable>(_ payload: Payload, dedupe: String?, budgets: RetryBudgets = .defaults) throws -> JobRequest {
        request(text: String(decoding: try FlowPayloadCoding.encoder.encode(payload), as: UTF8.self), dedupe: dedupe, budgets: budgets)
    }

    /// The same for a payload that writes its own JSON (what ingress enqueues per delivery). It
    /// cannot fail, but throws as the general one does, so callers need not know which they call.
    public func request(_ payload: some Encodable & WritesOwnJSON, dedupe: String?, budgets: RetryBudgets = .defaults) throws -> JobRequest
    {
        request(text: payload.jsonText, dedupe: dedupe, budgets: budgets)
    }

    private func request(text: String, dedupe: String?, budgets: RetryBudgets) -> JobRequest {
        JobRequest(
            queue: queue, kind: kind, payload: text, maxAttempts: budgets.policy(for: kind, in: self).maxAttempts, dedupe: dedupe)
    }
}

/// The four flows that ingress starts. Interactive ones (chat, voice) have short retry budgets — an
/// answer a minute late still helps, an hour late does not; indexing and calls have long ones (a
/// call recording must be fetched within the hour its URL lives, a booking indexed eventually).
///
/// Each budget can be changed with `RETRY_CHAT`, `RETRY_VOICE`, `RETRY_CALL`, `RETRY_BOOKING` as
/// `attempts/base/cap` (e.g. `6/2s/1m`), and one stage's with `RETRY_<KIND>` (`RETRY_CHAT_GENERATE`),
/// read by the command that starts a role (`RetryBudgets`): give the producer and the consumers the
/// same values (a job's attempts are fixed when it is enqueued, its waits by the consumer that runs it).
public enum Flows {
    /// A guest's text message in Chatwoot → retrieve → generate → reply.
    public static let chat = FlowEntry(
        queue: "retrieve", kind: "chat.retrieve",
        setting: "RETRY_CHAT", retry: .exponentialJitter(maxAttempts: 4, base: .seconds(2), cap: .seconds(20)))
    /// A guest's voice message (Chatwoot attachment or direct upload) → transcribe → … → reply.
    public static let voice = FlowEntry(
        queue: "transcribe", kind: "voice.transcribe",
        setting: "RETRY_VOICE", retry: .exponentialJitter(maxAttempts: 4, base: .seconds(2), cap: .seconds(20)))
    /// An Aircall recording or voicemail → download → transcribe → vectorize (+ a note in Chatwoot).
    public static let call = FlowEntry(
        queue: "download", kind: "call.download",
        setting: "RETRY_CALL", retry: .exponentialJitter(maxAttempts: 10, base: .seconds(5), cap: .seconds(300)))
    /// A Guesty reservation change → vectorize → triage (labels and team in Chatwoot).
    public static let booking = FlowEntry(
        queue: "vectorize", kind: "booking.vectorize",
        setting: "RETRY_BOOKING", retry: .exponentialJitter(maxAttempts: 12, base: .seconds(5), cap: .seconds(900)))
}

extension Flows {
    /// The flow whose budget a kind's waits come from, when it has one: the stages of the four
    /// flows, and a new conversation's triage (the booking flow's).
    public static func entry(ofKind kind: String) -> FlowEntry? { entries[kind] }

    private static let entries: [String: FlowEntry] = {
        var found: [String: FlowEntry] = [ConversationTriage.kind: booking]
        for stage in StageGraph.stages {
            if let entry = [chat, voice, call, booking].first(where: { $0.kind.hasPrefix(stage.flow + ".") }) { found[stage.kind] = entry }
        }
        return found
    }()

    /// Whose calls a stage makes: the chat and voice flows answer a guest who is waiting, so their
    /// calls go first; indexing calls and bookings can wait for them.
    public static func priority(ofKind kind: String) -> CallPriority {
        kind.hasPrefix("chat.") || kind.hasPrefix("voice.") ? .interactive : .background
    }
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
