import Foundation
import Redis

/// A job as it sits in a stream entry: flat string fields, so `redis-cli XRANGE` stays readable.
///
/// The field names are fixed (`id`, `kind`, `attempt`, `max_attempts`, `enqueued_at`, `payload`,
/// `flow`, `trace`, `dedupe`, `history`); dead letters add `queue`, `error`, `first_failed_at` and
/// `last_failed_at`. Decoding is strict about the fields the engine needs and says which one is
/// missing or malformed.
public struct Envelope: Sendable, Equatable {
    public var id: String
    public var kind: String
    public var attempt: Int
    public var maxAttempts: Int
    /// Unix milliseconds of the first enqueue.
    public var enqueuedAt: UInt64
    /// The job's payload as JSON text.
    public var payload: String
    /// The flow this job belongs to: the id of the job that started it, carried by every stage
    /// after it, so one id finds a guest's message from its webhook to its reply. A job that
    /// starts a flow is its own flow (and the field is then not written).
    public var flow: String
    /// W3C traceparent, when the producer had one.
    public var trace: String?
    /// The idempotency key this job was enqueued under, if any.
    public var dedupe: String?
    /// Earlier failures, oldest first, at most `Envelope.historyLimit`.
    public var history: [FailureRecord]

    public static let historyLimit = 10

    public init(
        id: String = JobID.make(), kind: String, attempt: Int = 1, maxAttempts: Int, enqueuedAt: UInt64 = WallClock.unixMilliseconds(),
        payload: String, flow: String? = nil, trace: String? = nil, dedupe: String? = nil, history: [FailureRecord] = []
    ) {
        self.id = id
        self.flow = flow ?? id
        self.kind = kind
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.enqueuedAt = enqueuedAt
        self.payload = payload
        self.trace = trace
        self.dedupe = dedupe
        self.history = history
    }

    /// The flat field/value list written with XADD.
    public var fields: [String] {
        var fields: [String] = []
        append(to: &fields)
        return fields
    }

    /// Appends the field/value list to `arguments` (one allocation for a whole command line).
    public func append(to arguments: inout [String]) {
        arguments.reserveCapacity(arguments.count + 18)
        arguments.append(contentsOf: [
            "id", id, "kind", kind, "attempt", String(attempt), "max_attempts", String(maxAttempts),
            "enqueued_at", String(enqueuedAt), "payload", payload,
        ])
        if flow != id { arguments.append("flow"); arguments.append(flow) }
        if let trace { arguments.append("trace"); arguments.append(trace) }
        if let dedupe { arguments.append("dedupe"); arguments.append(dedupe) }
        if !history.isEmpty { arguments.append("history"); arguments.append(FailureRecord.encode(history)) }
    }

    /// `XADD stream * fields…` for this envelope.
    func xadd(to stream: String) -> RedisCommand {
        var arguments = ["XADD", stream, "*"]
        append(to: &arguments)
        return RedisCommand(arguments: arguments)
    }

    /// Decodes the fields of a stream entry in the order Redis returns them (no dictionary on the
    /// hot path); unknown fields are ignored, a repeated field keeps its last value.
    public init(fields: [(String, String)]) throws(EnvelopeError) {
        var id: String?
        var kind: String?
        var attempt: String?
        var maxAttempts: String?
        var enqueuedAt: String?
        var payload: String?
        var flow: String?
        var trace: String?
        var dedupe: String?
        var history: String?
        for (name, value) in fields {
            switch name {
            case "id": id = value
            case "kind": kind = value
            case "attempt": attempt = value
            case "max_attempts": maxAttempts = value
            case "enqueued_at": enqueuedAt = value
            case "payload": payload = value
            case "flow": flow = value
            case "trace": trace = value
            case "dedupe": dedupe = value
            case "history": history = value
            default: break
            }
        }
        func required(_ value: String?, _ name: String) throws(EnvelopeError) -> String {
            guard let value else { throw .missingField(name) }
            return value
        }
        func number(_ value: String?, _ name: String) throws(EnvelopeError) -> Int {
            let text = try required(value, name)
            guard let number = Int(text), number >= 0 else { throw .malformedField(name, String(text.prefix(80))) }
            return number
        }
        let decodedID = try required(id, "id")
        let decodedKind = try required(kind, "kind")
        let decodedAttempt = try number(attempt, "attempt")
        let decodedMax = try number(maxAttempts, "max_attempts")
        let decodedEnqueuedAt = try number(enqueuedAt, "enqueued_at")
        let decodedPayload = try required(payload, "payload")
        var records: [FailureRecord] = []
        if let history {
            guard let decoded = FailureRecord.decode(history) else { throw .malformedField("history", String(history.prefix(80))) }
            records = decoded
        }
        self.init(
            id: decodedID, kind: decodedKind, attempt: max(decodedAttempt, 1), maxAttempts: decodedMax,
            enqueuedAt: UInt64(decodedEnqueuedAt), payload: decodedPayload, flow: flow, trace: trace, dedupe: dedupe, history: records)
    }

    /// Decodes the fields of a stream entry given as a dictionary.
    public init(fields: [String: String]) throws(EnvelopeError) {
        try self.init(fields: fields.map { ($0.key, $0.value) })
    }

    /// Adds a failure to the history, dropping the oldest beyond the limit.
    public mutating func record(_ failure: FailureRecord) {
        history.append(failure)
        if history.count > Self.historyLimit { history.removeFirst(history.count - Self.historyLimit) }
    }
}

/// Why a stream entry could not be read as an envelope.
public enum EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingField(String)
    case malformedField(String, String)

    public var description: String {
        switch self {
        case .missingField(let name): "malformed envelope: missing field '\(name)'"
        case .malformedField(let name, let value): "malformed envelope: field '\(name)' has an invalid value '\(value)'"
        }
    }
}

/// One failed attempt, kept in the envelope's bounded history.
public struct FailureRecord: Sendable, Equatable, Codable {
    public var attempt: Int
    /// Unix milliseconds.
    public var at: UInt64
    public var error: String

    public init(attempt: Int, at: UInt64, error: String) {
        self.attempt = attempt
        self.at = at
        self.error = error
    }

    static func encode(_ records: [FailureRecord]) -> String {
        let data = (try? JSONEncoder().encode(records)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ text: String) -> [FailureRecord]? {
        try? JSONDecoder().decode([FailureRecord].self, from: Data(text.utf8))
    }
}
