import Foundation

/// A job as it sits in a stream entry: flat string fields, so `redis-cli XRANGE` stays readable.
///
/// The field names are fixed (`id`, `kind`, `attempt`, `max_attempts`, `enqueued_at`, `payload`,
/// `trace`, `dedupe`, `history`); dead letters add `queue`, `error`, `first_failed_at` and
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
    /// W3C traceparent, when the producer had one.
    public var trace: String?
    /// The idempotency key this job was enqueued under, if any.
    public var dedupe: String?
    /// Earlier failures, oldest first, at most `Envelope.historyLimit`.
    public var history: [FailureRecord]

    public static let historyLimit = 10

    public init(id: String = JobID.make(), kind: String, attempt: Int = 1, maxAttempts: Int, enqueuedAt: UInt64 = Clock.unixMilliseconds(),
                payload: String, trace: String? = nil, dedupe: String? = nil, history: [FailureRecord] = []) {
        self.id = id
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
        var fields = [
            "id", id, "kind", kind, "attempt", String(attempt), "max_attempts", String(maxAttempts),
            "enqueued_at", String(enqueuedAt), "payload", payload,
        ]
        if let trace { fields += ["trace", trace] }
        if let dedupe { fields += ["dedupe", dedupe] }
        if !history.isEmpty { fields += ["history", FailureRecord.encode(history)] }
        return fields
    }

    /// Decodes the fields of a stream entry.
    public init(fields: [String: String]) throws(EnvelopeError) {
        func required(_ name: String) throws(EnvelopeError) -> String {
            guard let value = fields[name] else { throw .missingField(name) }
            return value
        }
        func number(_ name: String) throws(EnvelopeError) -> Int {
            let text = try required(name)
            guard let value = Int(text), value >= 0 else { throw .malformedField(name, text) }
            return value
        }
        let id = try required("id")
        let kind = try required("kind")
        let attempt = try number("attempt")
        let maxAttempts = try number("max_attempts")
        let enqueuedAt = try number("enqueued_at")
        let payload = try required("payload")
        var history: [FailureRecord] = []
        if let text = fields["history"] {
            guard let decoded = FailureRecord.decode(text) else { throw .malformedField("history", String(text.prefix(80))) }
            history = decoded
        }
        self.init(id: id, kind: kind, attempt: max(attempt, 1), maxAttempts: maxAttempts, enqueuedAt: UInt64(enqueuedAt),
                  payload: payload, trace: fields["trace"], dedupe: fields["dedupe"], history: history)
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
