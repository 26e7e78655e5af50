/// A job to enqueue: which kind, on which queue, with what payload (JSON text).
public struct JobRequest: Sendable, Equatable {
    public var queue: String
    public var kind: String
    public var payload: String
    public var maxAttempts: Int
    public var dedupe: String?
    public var trace: String?

    public init(queue: String, kind: String, payload: String, maxAttempts: Int, dedupe: String? = nil, trace: String? = nil) {
        self.queue = queue
        self.kind = kind
        self.payload = payload
        self.maxAttempts = maxAttempts
        self.dedupe = dedupe
        self.trace = trace
    }

    /// A fresh envelope for this request (new job id, attempt 1).
    public func envelope(now: UInt64 = Clock.unixMilliseconds()) -> Envelope {
        Envelope(kind: kind, maxAttempts: maxAttempts, enqueuedAt: now, payload: payload, trace: trace, dedupe: dedupe)
    }
}
