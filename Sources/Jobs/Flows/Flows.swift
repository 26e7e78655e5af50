import Foundation
import Queue
import Services

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
        return JobRequest(queue: queue, kind: kind, payload: text, maxAttempts: RetryBudgets.policy(for: kind, default: retry).maxAttempts, dedupe: dedupe)
    }
}

/// The four flows that ingress starts. Interactive ones (chat, voice) have short retry budgets — an
/// answer a minute late still helps, an hour late does not; indexing and calls have long ones (a
/// call recording must be fetched within the hour its URL lives, a booking indexed eventually).
///
/// Each budget can be changed with `RETRY_CHAT`, `RETRY_VOICE`, `RETRY_CALL`, `RETRY_BOOKING` as
/// `attempts/base/cap` (e.g. `6/2s/1m`), and one stage's with `RETRY_<KIND>` (`RETRY_CHAT_GENERATE`),
/// read once per process: give the producer and the consumers the same values (a job's attempts
/// are fixed when it is enqueued, its waits by the consumer that runs it). `RetryBudgets.check()`
/// refuses a malformed one at start-up.
public enum Flows {
    /// A guest's text message in Chatwoot → retrieve → generate → reply.
    public static let chat = FlowEntry(queue: "retrieve", kind: "chat.retrieve",
                                       retry: RetryBudgets.configured("RETRY_CHAT", default: .exponentialJitter(maxAttempts: 4, base: .seconds(2), cap: .seconds(20))))
    /// A guest's voice message (Chatwoot attachment or direct upload) → transcribe → … → reply.
    public static let voice = FlowEntry(queue: "transcribe", kind: "voice.transcribe",
                                        retry: RetryBudgets.configured("RETRY_VOICE", default: .exponentialJitter(maxAttempts: 4, base: .seconds(2), cap: .seconds(20))))
    /// An Aircall recording or voicemail → download → transcribe → vectorize (+ a note in Chatwoot).
    public static let call = FlowEntry(queue: "download", kind: "call.download",
                                       retry: RetryBudgets.configured("RETRY_CALL", default: .exponentialJitter(maxAttempts: 10, base: .seconds(5), cap: .seconds(300))))
    /// A Guesty reservation change → vectorize → triage (labels and team in Chatwoot).
    public static let booking = FlowEntry(queue: "vectorize", kind: "booking.vectorize",
                                          retry: RetryBudgets.configured("RETRY_BOOKING", default: .exponentialJitter(maxAttempts: 12, base: .seconds(5), cap: .seconds(900))))
}

extension Flows {
    /// Whose calls a stage makes: the chat and voice flows answer a guest who is waiting, so their
    /// calls go first; indexing calls and bookings can wait for them.
    public static func priority(ofKind kind: String) -> CallPriority {
        kind.hasPrefix("chat.") || kind.hasPrefix("voice.") ? .interactive : .background
    }
}

/// The retry budgets as operators set them, per flow (`RETRY_CHAT`) or per kind
/// (`RETRY_CHAT_GENERATE` for `chat.generate`): `attempts/base/cap`, durations in `ms`, `s`, `m`
/// or `h` (`4/2s/20s`).
public enum RetryBudgets {
    public static let names = ["RETRY_CHAT", "RETRY_VOICE", "RETRY_CALL", "RETRY_BOOKING"]

    /// Throws, naming the variable, when a `RETRY_…` setting is malformed.
    public static func check(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        for (name, text) in environment where name.hasPrefix("RETRY_") && !text.isEmpty && parse(text) == nil {
            throw ConfigurationError("\(name) '\(text)' is not attempts/base/cap, e.g. 4/2s/20s")
        }
    }

    /// The policy for `kind`: its own setting (`RETRY_CHAT_GENERATE`) if there is one, else `flow`.
    public static func policy(for kind: String, default flow: RetryPolicy) -> RetryPolicy {
        perKind[kind] ?? flow
    }

    /// The per-kind settings of this process, read once.
    static let perKind: [String: RetryPolicy] = settings(ProcessInfo.processInfo.environment)

    /// `RETRY_CHAT_GENERATE=3/1s/5s` → `["chat.generate": …]` (flow-wide names are not kinds).
    static func settings(_ environment: [String: String]) -> [String: RetryPolicy] {
        var found: [String: RetryPolicy] = [:]
        for (name, text) in environment where name.hasPrefix("RETRY_") && !names.contains(name) {
            let kind = name.dropFirst("RETRY_".count).lowercased().replacingOccurrences(of: "_", with: ".")
            if let policy = parse(text) { found[kind] = policy }
        }
        return found
    }

    static func configured(_ name: String, default policy: RetryPolicy,
                           environment: [String: String] = ProcessInfo.processInfo.environment) -> RetryPolicy {
        environment[name].flatMap(parse) ?? policy
    }

    /// `4/2s/20s` → 4 attempts, waits from 2 s growing to at most 20 s.
    public static func parse(_ text: String) -> RetryPolicy? {
        let parts = text.split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 3, let attempts = Int(parts[0]), attempts >= 1,
              let base = duration(parts[1]), let cap = duration(parts[2]), base > .zero, cap >= base else { return nil }
        return RetryPolicy(maxAttempts: attempts, base: base, cap: cap)
    }

    static func duration(_ text: String) -> Duration? {
        for (suffix, milliseconds) in [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)] where text.hasSuffix(suffix) {
            // At most a year: a larger (or infinite) number is a typo, never a wait.
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value * Double(milliseconds) <= 365 * 86_400_000 else { return nil }
            return .milliseconds(Int64(value * Double(milliseconds)))
        }
        return nil
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
