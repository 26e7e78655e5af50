import Redis

/// What Redis knows of one flow (or of the flow of one job): every stage's settled attempts from
/// the queues' histories, its dead letters, and the jobs still live — waiting, running (pending,
/// with their consumer and idle time) or waiting for a retry. What `switchboard trace` prints and
/// the console shows.
public struct FlowTrace: Sendable, Equatable, Codable {
    /// Where one attempt of one job is, or how it ended.
    public enum State: String, Sendable, Codable {
        case waiting, pending, delayed, done, next, retry, dead
        /// A letter in the dead letters (beside the history's `dead` record, or alone once the
        /// history has forgotten it).
        case deadLetter = "dead-letter"

        var order: Int {
            switch self {
            case .done, .next, .retry, .dead: 0
            case .deadLetter: 1
            case .delayed, .waiting, .pending: 2
            }
        }
    }

    public struct Step: Sendable, Equatable, Codable {
        public var jobID: String
        public var kind: String
        public var queue: String
        public var state: State
        public var attempt: Int
        /// Unix ms of the job's first enqueue.
        public var enqueuedAt: UInt64
        /// Unix ms: when the attempt ended (settled), when it is due (delayed), when it entered
        /// the stream (waiting, pending) or the dead letters.
        public var at: UInt64
        public var milliseconds: UInt64?
        public var error: String?
        public var next: String?
        /// Running: the consumer holding it and how long since it last heard of it.
        public var consumer: String?
        public var idleMilliseconds: UInt64?
        /// A dead letter's entry id (what `dead retry` takes).
        public var entryID: String?

        /// What a reader needs beside the columns: the next job, the consumer running it, when a
        /// retry is due, or the error; times and ages written as the caller writes them.
        public func detail(age: (Int) -> String, time: (UInt64) -> String) -> String {
            var detail = error ?? ""
            if let next { detail = "→ \(next)" }
            if let consumer { detail = "running on \(consumer), idle \(age(Int(clamping: idleMilliseconds ?? 0)))" }
            if state == .delayed { detail = "due \(time(at))" + (detail.isEmpty ? "" : "; \(detail)") }
            return detail
        }
    }

    /// The flow's id: the job that started it.
    public var flow: String
    /// Oldest first.
    public var steps: [Step]
    /// Some streams were longer than the scan allowed: live jobs further back may be missing.
    public var truncated: Bool
}

/// Finds a flow's steps. History streams are read whole (they are capped); work streams, delayed
/// sets and dead letters only from the flow's start (a job id carries its creation time) and at
/// most `scanLimit` entries each, so a trace stays cheap beside hundreds of thousands of waiting jobs.
public struct FlowTracer: Sendable {
    let broker: Broker
    let scanLimit: Int

    public init(broker: Broker, scanLimit: Int = 50_000) {
        self.broker = broker
        self.scanLimit = scanLimit
    }

    /// The trace of flow `id`, or of the flow job `id` belongs to; nil when nothing is known of it.
    public func trace(_ id: String, queues known: [String] = []) async throws -> FlowTrace? {
        let queues = try await Inspector(broker: broker).queueNames(including: known)
        var finished: [FinishedJob] = []
        for (queue, reply) in zip(
            queues, try await broker.pool.pipeline(queues.map { RedisCommand("XRANGE", [broker.keys.history($0), "-", "+"]) }))
        {
            finished += StreamEntry.list(reply).compactMap { FinishedJob(entry: $0, queue: queue) }
        }
        // The flow started before any of its jobs was made; a minute's leeway for clocks apart.
        func start(_ id: String) -> UInt64 { JobID.milliseconds(of: id).map { $0 > 60_000 ? $0 - 60_000 : 0 } ?? 0 }
        // The flow: the one job `id` names belongs to (its history says, else its live entry),
        // else `id` itself. The live jobs are scanned for it once, or twice when only a live entry
        // of a later stage could tell the flow.
        var live: [LiveJob] = []
        var truncated = false
        var scanned: String?
        var belongs = finished.first { $0.jobID == id }?.flow
        if belongs == nil {
            (live, truncated) = try await liveJobs(queues, matching: id, since: start(id))
            scanned = id
            belongs = live.lazy.compactMap { item in item.entry.fieldMap["id"] == id ? item.entry.fieldMap["flow"] ?? id : nil }.first
        }
        let flow = belongs ?? id
        if scanned != flow {
            (live, truncated) = try await liveJobs(queues, matching: flow, since: min(start(flow), start(id)))
        }
        var steps: [FlowTrace.Step] = finished.filter { $0.flow == flow }.map { record in
            FlowTrace.Step(
                jobID: record.jobID, kind: record.kind, queue: record.queue,
                state: FlowTrace.State(rawValue: record.outcome.rawValue) ?? .done,
                attempt: record.attempt, enqueuedAt: record.enqueuedAt, at: record.finishedAt, milliseconds: record.milliseconds,
                error: record.error, next: record.next)
        }
        for item in live {
            let fields = item.entry.fieldMap
            guard let jobID = fields["id"], (fields["flow"] ?? jobID) == flow else { continue }
            var step = FlowTrace.Step(
                jobID: jobID, kind: fields["kind"] ?? "?", queue: item.queue, state: item.state,
                attempt: fields["attempt"].flatMap { Int($0) } ?? 1, enqueuedAt: fields["enqueued_at"].flatMap { UInt64($0) } ?? 0,
                at: item.due ?? StreamID.parse(item.entry.id)?.0 ?? 0)
            if item.state == .deadLetter {
                step.error = fields["error"]
                step.entryID = item.entry.id
            }
            if item.state == .waiting, let pending = try await pending(item.queue, entryID: item.entry.id) {
                step.state = .pending
                step.consumer = pending.consumer
                step.idleMilliseconds = pending.idle
            }
            steps.append(step)
        }
        guard !steps.isEmpty else { return nil }
        // Settled attempts before the letter or the live job written in the same instant.
        steps.sort { ($0.at, $0.state.order) < ($1.at, $1.state.order) }
        return FlowTrace(flow: flow, steps: steps, truncated: truncated)
    }

    private typealias LiveJob = (queue: String, entry: StreamEntry, state: FlowTrace.State, due: UInt64?)

    /// Waiting, running and delayed jobs and dead letters whose id or flow is `id`.
    private func liveJobs(_ queues: [String], matching id: String, since: UInt64) async throws -> ([LiveJob], Bool) {
        var live: [LiveJob] = []
        var truncated = false
        for queue in queues {
            let (entries, cut) = try await scan(broker.keys.stream(queue), since: since, matching: id)
            let (letters, cutLetters) = try await scan(broker.keys.dead(queue), since: since, matching: id)
            let (delayed, cutDelayed) = try await delayed(queue, matching: id)
            truncated = truncated || cut || cutLetters || cutDelayed
            live +=
                entries.map { (queue, $0, .waiting, nil) } + letters.map { (queue, $0, .deadLetter, nil) }
                + delayed.map { (queue, $0.entry, .delayed, $0.due) }
        }
        return (live, truncated)
    }

    /// Entries of `key` from `since` whose text mentions `id`, at most `scanLimit` read.
    private func scan(_ key: String, since: UInt64, matching id: String) async throws -> ([StreamEntry], Bool) {
        var found: [StreamEntry] = []
        var cursor = "\(since)-0"
        var exclusive = false
        var read = 0
        while read < scanLimit {
            let page = StreamEntry.list(
                try await broker.pool.send(RedisCommand("XRANGE", [key, exclusive ? "(" + cursor : cursor, "+", "COUNT", "1000"])))
            read += page.count
            found += page.filter { entry in entry.fields.contains { ($0.0 == "id" || $0.0 == "flow") && $0.1 == id } }
            guard page.count == 1000, let last = page.last else { return (found, false) }
            cursor = last.id
            exclusive = true
        }
        return (found, true)
    }

    /// Retries of `queue` waiting for their time whose envelope mentions `id`.
    private func delayed(_ queue: String, matching id: String) async throws -> ([(entry: StreamEntry, due: UInt64)], Bool) {
        var found: [(entry: StreamEntry, due: UInt64)] = []
        var start = 0
        while start < scanLimit {
            let flat =
                try await broker.pool.send(
                    RedisCommand("ZRANGE", [broker.keys.delayed(queue), String(start), String(start + 999), "WITHSCORES"])
                ).array ?? []
            var index = 0
            while index + 1 < flat.count {
                if let member = flat[index].string, member.contains(id), let list = DelayedMember.decode(member) {
                    let fields = stride(from: 0, to: list.count - 1, by: 2).map { (list[$0], list[$0 + 1]) }
                    let due = flat[index + 1].string.flatMap(Double.init).map { $0.isFinite && $0 >= 0 ? UInt64(min($0, 1e18)) : 0 } ?? 0
                    found.append((StreamEntry(id: "0-0", fields: fields), due))
                }
                index += 2
            }
            guard flat.count == 2000 else { return (found, false) }
            start += 1000
        }
        return (found, true)
    }

    private func pending(_ queue: String, entryID: String) async throws -> (consumer: String, idle: UInt64)? {
        let reply: RedisValue
        do {
            reply = try await broker.pool.send(RedisCommand("XPENDING", [broker.keys.stream(queue), Keys.group, entryID, entryID, "1"]))
        } catch let error as RedisError where error.serverCode == "NOGROUP" {
            return nil  // no consumer ever read this queue
        }
        guard let record = reply.array?.first?.array, record.count >= 3, let consumer = record[1].string else { return nil }
        return (consumer, UInt64(max(record[2].integer ?? 0, 0)))
    }
}
