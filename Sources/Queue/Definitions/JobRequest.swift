/// A job to enqueue: which kind, on which queue, with what payload (JSON text).
public struct JobRequest: Sendable, Equatable {
    public var queue: String
    public var kind: String
    public var payload: String
    public var maxAttempts: Int
    public var dedupe: String?
    /// The W3C `traceparent` this job continues, if any.
    public var trace: String?
    /// The flow this job belongs to; nil starts a flow of its own (a stage's next job is put in the
    /// stage's flow by the engine).
    public var flow: String?

    public init(
        queue: String, kind: String, payload: String, maxAttempts: Int, dedupe: String? = nil, trace: String? = nil, flow: String? = nil
    ) {
        self.queue = queue
        self.kind = kind
        self.payload = payload
        self.maxAttempts = maxAttempts
        self.dedupe = dedupe
        self.trace = trace
        self.flow = flow
    }

    /// A fresh envelope for this request (attempt 1), with a new job id unless `id` is given.
    public func envelope(id: String = JobID.make(), now: UInt64 = WallClock.unixMilliseconds()) -> Envelope {
        Envelope(id: id, kind: kind, maxAttempts: maxAttempts, enqueuedAt: now, payload: payload, flow: flow, trace: trace, dedupe: dedupe)
    }
}
