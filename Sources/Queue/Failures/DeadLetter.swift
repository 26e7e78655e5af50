/// A job that will not be tried again: the whole original envelope plus where it came from, how
/// often it was tried, when it first and last failed, and why.
///
/// Stored as an entry of the queue's dead-letter stream with the envelope's own fields followed by
/// `queue`, `error`, `first_failed_at` and `last_failed_at`, so an operator can read it with XRANGE
/// and a retry can rebuild the envelope exactly.
public struct DeadLetter: Sendable, Equatable {
    public var envelope: Envelope
    public var queue: String
    public var error: String
    public var firstFailedAt: UInt64
    public var lastFailedAt: UInt64

    public init(envelope: Envelope, queue: String, error: String, firstFailedAt: UInt64, lastFailedAt: UInt64) {
        self.envelope = envelope
        self.queue = queue
        self.error = error
        self.firstFailedAt = firstFailedAt
        self.lastFailedAt = lastFailedAt
    }

    /// The letter for an envelope whose attempt just failed with `error` at `now`.
    public init(failing envelope: Envelope, queue: String, error: String, now: UInt64) {
        self.init(envelope: envelope, queue: queue, error: error, firstFailedAt: envelope.history.first?.at ?? now, lastFailedAt: now)
    }

    public var fields: [String] {
        envelope.fields + [
            "queue", queue, "error", error,
            "first_failed_at", String(firstFailedAt), "last_failed_at", String(lastFailedAt),
        ]
    }

    /// Reads a dead-letter entry back. Entries whose envelope itself was malformed (they were
    /// buried for that reason) keep what fields there were; `raw` always has them all.
    public init(fields: [String: String]) throws(EnvelopeError) {
        let envelope = try Envelope(fields: fields)
        self.init(
            envelope: envelope, queue: fields["queue"] ?? "", error: fields["error"] ?? "",
            firstFailedAt: fields["first_failed_at"].flatMap { UInt64($0) } ?? 0,
            lastFailedAt: fields["last_failed_at"].flatMap { UInt64($0) } ?? 0)
    }
}
