/// One settled attempt as its queue's history keeps it: done, handed on to the next stage, failed
/// and scheduled again, or dead-lettered. What `switchboard trace` and the console show of work
/// that is no longer in a stream.
///
/// Stored as an entry of `Keys.history(queue)` whose id is the time Redis wrote it (the finish
/// time), with flat string fields: `id`, `flow`, `kind`, `outcome`, `attempt`, `enqueued_at`,
/// `ms` (how long the attempt ran), and `error` or `next` (the next stage's job id) when there is one.
public struct FinishedJob: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case done
        /// Done, and the flow's next stage enqueued (`next`).
        case handedOn = "next"
        /// Failed; another attempt is scheduled.
        case retry
        case dead
    }

    public var jobID: String
    public var flow: String
    public var kind: String
    public var queue: String
    public var outcome: Outcome
    public var attempt: Int
    /// Unix milliseconds of the job's first enqueue.
    public var enqueuedAt: UInt64
    /// Unix milliseconds when the outcome was written.
    public var finishedAt: UInt64
    public var milliseconds: UInt64
    public var error: String?
    public var next: String?

    /// Longest error text kept: the dead letter has it whole.
    static let errorLimit = 1000

    /// The fields written for an attempt of `envelope` (the finish time is the entry's id).
    static func fields(_ envelope: Envelope, outcome: Outcome, milliseconds: UInt64, error: String? = nil, next: String? = nil) -> [String]
    {
        var fields: [String] = []
        fields.reserveCapacity(18)
        append(envelope, outcome: outcome, milliseconds: milliseconds, error: error, next: next, to: &fields)
        return fields
    }

    /// Appends those fields to a command line being built (an acknowledgement carries a record
    /// per job: no array of its own for each). Reserving room is the caller's: it knows the whole.
    static func append(
        _ envelope: Envelope, outcome: Outcome, milliseconds: UInt64, error: String? = nil, next: String? = nil,
        to fields: inout [String]
    ) {
        fields.append("id")
        fields.append(envelope.id)
        fields.append("flow")
        fields.append(envelope.flow)
        fields.append("kind")
        fields.append(envelope.kind)
        fields.append("outcome")
        fields.append(outcome.rawValue)
        fields.append("attempt")
        fields.append(String(envelope.attempt))
        fields.append("enqueued_at")
        fields.append(String(envelope.enqueuedAt))
        fields.append("ms")
        fields.append(String(milliseconds))
        if let error {
            fields.append("error")
            fields.append(String(error.prefix(errorLimit)))
        }
        if let next {
            fields.append("next")
            fields.append(next)
        }
    }

    /// Reads an entry of `queue`'s history back; nil for one that is not a record.
    init?(entry: StreamEntry, queue: String) {
        let fields = entry.fieldMap
        guard let id = fields["id"], let kind = fields["kind"], let outcome = fields["outcome"].flatMap(Outcome.init(rawValue:)),
            let finished = StreamID.parse(entry.id)?.0
        else { return nil }
        jobID = id
        flow = fields["flow"] ?? id
        self.kind = kind
        self.queue = queue
        self.outcome = outcome
        attempt = fields["attempt"].flatMap { Int($0) } ?? 1
        enqueuedAt = fields["enqueued_at"].flatMap { UInt64($0) } ?? 0
        finishedAt = finished
        milliseconds = fields["ms"].flatMap { UInt64($0) } ?? 0
        error = fields["error"]
        next = fields["next"]
    }
}

/// How much settled work each queue remembers: the last `entries` records and none older than
/// `age`, give or take a block of entries (Redis trims streams a block at a time: up to
/// `stream-node-max-entries`, 100, more stay). Zero entries keeps none.
public struct HistoryRetention: Sendable, Equatable {
    public var entries: Int
    public var age: Duration

    public init(entries: Int, age: Duration) {
        self.entries = max(entries, 0)
        self.age = age
    }

    public static let standard = HistoryRetention(entries: 1000, age: .seconds(86_400))
    public static let none = HistoryRetention(entries: 0, age: .zero)

    /// The arguments the outcome scripts take: the length cap and the oldest id kept.
    func arguments(now: UInt64) -> [String] {
        let cutoff = now > UInt64(age.milliseconds) ? now - UInt64(age.milliseconds) : 0
        return [String(entries), "\(cutoff)-0"]
    }
}
