import Redis

/// Every command the engine sends to Redis, with typed results. Nothing above this file builds a
/// Redis command or indexes into a raw reply.
public struct Broker: Sendable {
    public let keys: Keys
    public let pool: RedisPool
    /// How much settled work the outcome scripts keep in each queue's history.
    public var history: HistoryRetention

    public init(pool: RedisPool, keys: Keys, history: HistoryRetention = .standard) {
        self.pool = pool
        self.keys = keys
        self.history = history
    }

    /// A finished attempt's history record, as the outcome scripts take it: none when the
    /// history is off.
    private func record(_ record: @autoclosure () -> [String]) -> [String] {
        history.entries > 0 ? record() : []
    }

    // MARK: Enqueue

    /// Adds one envelope to a queue; returns the stream entry id.
    @discardableResult
    public func add(_ envelope: Envelope, to queue: String) async throws -> String {
        let replies = try await pool.pipeline([
            envelope.xadd(to: keys.stream(queue)),
            RedisCommand("SADD", [keys.queues, queue]),
        ])
        return try Self.check(replies[0], "XADD").string ?? ""
    }

    /// Adds many envelopes in pipelined batches; every envelope is acknowledged by Redis on return.
    public func add(_ envelopes: [Envelope], to queue: String, batchSize: Int = 1000) async throws {
        let stream = keys.stream(queue)
        _ = try await pool.send(RedisCommand("SADD", [keys.queues, queue]))
        var start = 0
        while start < envelopes.count {
            let end = min(start + batchSize, envelopes.count)
            let commands = envelopes[start..<end].map { $0.xadd(to: stream) }
            for reply in try await pool.pipeline(commands) { _ = try Self.check(reply, "XADD") }
            start = end
        }
    }

    /// What `addGuarded` did.
    public enum GuardedAdd: Sendable, Equatable {
        /// Enqueued as this job id.
        case added(jobID: String)
        /// The dedupe key was already set; nothing was enqueued. Carries the first job's id.
        case duplicate(jobID: String)
        /// The queue held `length` entries, at or above the high-water mark; nothing was enqueued.
        case full(length: Int)
    }

    /// Adds an envelope unless its dedupe key was seen within `ttlSeconds` or the queue is at its
    /// high-water mark (0: no mark); key, check and enqueue are one atomic step.
    public func addGuarded(_ envelope: Envelope, to queue: String, dedupeKey: String?, ttlSeconds: Int, highWater: Int) async throws
        -> GuardedAdd
    {
        let reply = try await Scripts.enqueueGuarded.run(
            on: pool.client, keys: [keys.dedupe(dedupeKey ?? ""), keys.stream(queue), keys.queues],
            arguments: [dedupeKey == nil ? "0" : String(max(ttlSeconds, 1)), envelope.id, queue, String(highWater)] + envelope.fields)
        guard let parts = reply.array, parts.count == 2, let flag = parts[0].integer, let value = parts[1].string else {
            throw RedisError.unexpectedReply(command: "script enqueue-guarded", detail: "expected {flag, value}")
        }
        switch flag {
        case 1: return .added(jobID: value)
        case 0: return .duplicate(jobID: value)
        default: return .full(length: Int(value) ?? highWater)
        }
    }

    // MARK: Leases

    /// Renews the lease at `key` if `owner` holds it, takes it if nobody does; true if `owner` holds it.
    public func holdLease(_ key: String, owner: String, lease: Duration) async throws -> Bool {
        try await Scripts.holdLease.run(on: pool.client, keys: [key], arguments: [owner, String(lease.milliseconds)]).integer == 1
    }

    /// Gives the lease at `key` up if `owner` still holds it.
    public func releaseLease(_ key: String, owner: String) async throws {
        _ = try await Scripts.releaseLease.run(on: pool.client, keys: [key], arguments: [owner])
    }

    // MARK: Consumer group

    /// Creates the queue's stream and consumer group if missing. The group starts at the beginning
    /// of the stream: acknowledged entries are deleted, so everything still in it is unfinished work.
    /// With `consumer`, also registers that consumer, so an idle one shows in XINFO CONSUMERS
    /// (Redis creates a blocked reader's consumer only when it is first served).
    public func ensureGroup(_ queue: String, consumer: String? = nil) async throws {
        do {
            try await pool.send(RedisCommand("XGROUP", ["CREATE", keys.stream(queue), Keys.group, "0", "MKSTREAM"]))
        } catch let error as RedisError where error.serverCode == "BUSYGROUP" {
            // Already there.
        }
        var commands = [RedisCommand("SADD", [keys.queues, queue])]
        if let consumer { commands.append(RedisCommand("XGROUP", ["CREATECONSUMER", keys.stream(queue), Keys.group, consumer])) }
        for reply in try await pool.pipeline(commands) { _ = try Self.check(reply, "XGROUP") }
    }

    /// Takes up to `count` new entries of one queue for `consumer`; with `block`, waits that long
    /// for some to arrive, without it answers at once. Runs on the caller's own client: a blocking
    /// read must not hold a pooled connection.
    public func read(_ queue: String, consumer: String, count: Int, block: Duration?, on client: RedisClient) async throws -> [StreamEntry]
    {
        try await read([queue], consumer: consumer, count: count, block: block, on: client).map(\.entry)
    }

    /// Takes new entries of several queues at once for `consumer`: up to `count` from each queue
    /// that has some, waiting up to `block` for the first to arrive on any of them. One blocking
    /// read serves every queue of a process, so waiting never holds more than one connection.
    public func read(_ queues: [String], consumer: String, count: Int, block: Duration?, on client: RedisClient) async throws -> [(
        queue: String, entry: StreamEntry
    )] {
        guard !queues.isEmpty else { return [] }
        let wait = block.map { ["BLOCK", String(max(1, $0.milliseconds))] } ?? []
        let reply = try await client.send(
            RedisCommand(
                "XREADGROUP",
                ["GROUP", Keys.group, consumer, "COUNT", String(count)] + wait + ["STREAMS"] + queues.map(keys.stream)
                    + Array(repeating: ">", count: queues.count),
                blocksFor: block ?? .zero))
        var read: [(queue: String, entry: StreamEntry)] = []
        for (stream, entries) in Self.streams(of: reply) {
            guard let queue = keys.queue(ofStream: stream) else { continue }
            for entry in entries { read.append((queue, entry)) }
        }
        return read
    }

    /// An XREADGROUP reply's entries, stream by stream (a reply of nothing has none).
    static func streams(of reply: RedisValue) -> [(stream: String, entries: [StreamEntry])] {
        (reply.array ?? []).compactMap { stream in
            guard let pair = stream.array, pair.count == 2, let key = pair[0].string else { return nil }
            return (key, StreamEntry.list(pair[1]))
        }
    }

    /// Entries Redis delivered to `consumer` that are not running here (`running`): deliveries
    /// whose reply was lost. Up to `count`, their delivery counts unchanged.
    public func recover(_ queue: String, consumer: String, count: Int, running: [String]) async throws -> [StreamEntry] {
        StreamEntry.list(
            try await Scripts.recover.run(
                on: pool.client, keys: [keys.stream(queue)], arguments: [Keys.group, consumer, String(count)] + running))
    }

    /// Makes entries this consumer gives up on (abandoned at the end of its grace period)
    /// claimable by any replica at once, without counting the cut-off delivery; returns how many.
    @discardableResult
    public func release(_ queue: String, consumer: String, entryIDs: [String], visibilityTimeout: Duration) async throws -> Int {
        var released = 0
        for chunk in Self.chunks(entryIDs) {
            let reply = try await Scripts.release.run(
                on: pool.client, keys: [keys.stream(queue)],
                arguments: [Keys.group, consumer, String((visibilityTimeout + .seconds(1)).milliseconds)] + chunk)
            released += reply.integer ?? 0
        }
        return released
    }

    // MARK: Outcomes

    /// Most entry ids passed to one script call: Lua's `unpack` fails on a few thousand.
    static let idsPerScript = 1000

    /// Acknowledges and deletes finished entries of one queue that `consumer` still owns, up to a
    /// thousand per atomic step; returns how many it acknowledged.
    @discardableResult
    public func ack(_ queue: String, consumer: String, entryIDs: [String]) async throws -> Int {
        try await ack(queue, consumer: consumer, finished: entryIDs.map { Finished(entryID: $0) })
    }

    /// An entry to acknowledge, with what its history record is made of: the attempt's envelope
    /// (none: no record) and how long it ran.
    public struct Finished: Sendable {
        public var entryID: String
        public var envelope: Envelope?
        public var milliseconds: UInt64

        public init(entryID: String, envelope: Envelope? = nil, milliseconds: UInt64 = 0) {
            self.entryID = entryID
            self.envelope = envelope
            self.milliseconds = milliseconds
        }
    }

    /// Acknowledges finished entries and writes each one's history record.
    @discardableResult
    public func ack(_ queue: String, consumer: String, finished: [Finished]) async throws -> Int {
        var acked = 0
        for (keys, arguments) in ackCalls(queue, consumer: consumer, finished: finished) {
            acked += try await Scripts.ack.run(on: pool.client, keys: keys, arguments: arguments).integer ?? 0
        }
        return acked
    }

    /// The acknowledgement of `finished` as calls of the ack script, a thousand entries each at most.
    func ackCalls(_ queue: String, consumer: String, finished: [Finished]) -> [(keys: [String], arguments: [String])] {
        var calls: [(keys: [String], arguments: [String])] = []
        for chunk in Self.chunks(finished) {
            guard let (lowest, highest) = StreamID.bounds(chunk.lazy.map(\.entryID)) else { continue }
            var arguments =
                [Keys.group, consumer, lowest, highest] + history.arguments(now: WallClock.unixMilliseconds()) + [String(chunk.count)]
            arguments.reserveCapacity(arguments.count + chunk.count * 16)
            for item in chunk { arguments.append(item.entryID) }
            for item in chunk {
                guard history.entries > 0, let envelope = item.envelope else {
                    arguments.append("0")
                    continue
                }
                let counted = arguments.count
                arguments.append("")
                FinishedJob.append(envelope, outcome: .done, milliseconds: item.milliseconds, to: &arguments)
                arguments[counted] = String(arguments.count - counted - 1)
            }
            calls.append(([keys.stream(queue), statsKey(queue), keys.history(queue)], arguments))
        }
        return calls
    }

    /// What `readCarrying` got back: how each carried acknowledgement went (how many acknowledged,
    /// or the error: those entries are still to be acknowledged), and the entries read.
    public struct CarriedRead: Sendable {
        public var acknowledged: [String: Result<Int, RedisError>]
        public var entries: [StreamEntry]
    }

    /// Acknowledges `finished` (queue by queue), then reads up to `count` new entries of `queue`
    /// without waiting, in one round trip on the caller's client: the slots the acknowledged jobs
    /// give back are filled by the read that follows them. A failing acknowledgement leaves its
    /// entries pending and does not stop the read; a failing read throws (the acknowledgements'
    /// outcome then unknown: writing them again is harmless, the script skips what is settled).
    public func readCarrying(
        _ finished: [String: [Finished]], queue: String, consumer: String, count: Int, on client: RedisClient
    ) async throws -> CarriedRead {
        var commands: [RedisCommand] = []
        var calls: [(queue: String, count: Int)] = []
        for (ackQueue, items) in finished {
            let queueCalls = ackCalls(ackQueue, consumer: consumer, finished: items)
            calls.append((ackQueue, queueCalls.count))
            for call in queueCalls { commands.append(Scripts.ack.call(keys: call.keys, arguments: call.arguments)) }
        }
        commands.append(
            RedisCommand("XREADGROUP", ["GROUP", Keys.group, consumer, "COUNT", String(count), "STREAMS", keys.stream(queue), ">"]))
        let replies = try await client.pipeline(commands)
        var acknowledged: [String: Result<Int, RedisError>] = [:]
        var index = 0
        for (ackQueue, count) in calls {
            var result = Result<Int, RedisError>.success(0)
            for reply in replies[index..<(index + count)] {
                if case .error(let message) = reply {
                    result = .failure(.server(command: "script ack", message: message))
                } else if case .success(let acked) = result {
                    result = .success(acked + (reply.integer ?? 0))
                }
            }
            acknowledged[ackQueue] = result
            index += count
        }
        let read = replies[index]
        if case .error(let message) = read { throw RedisError.server(command: "XREADGROUP", message: message) }
        return CarriedRead(acknowledged: acknowledged, entries: Self.streams(of: read).flatMap(\.entries))
    }

    static func chunks<Element>(_ items: [Element]) -> [ArraySlice<Element>] {
        stride(from: 0, to: items.count, by: idsPerScript).map { items[$0..<min($0 + idsPerScript, items.count)] }
    }

    /// Schedules the next attempt; false when the entry was no longer `consumer`'s (settled or
    /// claimed elsewhere).
    /// `milliseconds` is how long the failed attempt ran (for its history record).
    public func retry(_ queue: String, consumer: String, entryID: String, next: Envelope, dueAt: UInt64, milliseconds: UInt64 = 0)
        async throws -> Bool
    {
        var failed = next
        failed.attempt = max(next.attempt - 1, 1)
        let reply = try await Scripts.retry.run(
            on: pool.client, keys: [keys.stream(queue), keys.delayed(queue), statsKey(queue), keys.history(queue)],
            arguments: [Keys.group, consumer, entryID, String(dueAt), DelayedMember.encode(next)]
                + history.arguments(now: WallClock.unixMilliseconds())
                + record(FinishedJob.fields(failed, outcome: .retry, milliseconds: milliseconds, error: next.history.last?.error)))
        return reply.integer == 1
    }

    /// Moves an entry to the dead letters; false when it was no longer `consumer`'s.
    /// Puts an entry back unchanged to run at `dueAt` (a limit held it, or its handler has nothing
    /// to do yet): written like a retry, without a history record, since no attempt ended.
    public func putBack(_ queue: String, consumer: String, entryID: String, next: Envelope, dueAt: UInt64) async throws -> Bool {
        let reply = try await Scripts.retry.run(
            on: pool.client, keys: [keys.stream(queue), keys.delayed(queue), statsKey(queue), keys.history(queue)],
            arguments: [Keys.group, consumer, entryID, String(dueAt), DelayedMember.encode(next)] + HistoryRetention.none.arguments(now: 0))
        return reply.integer == 1
    }

    public func bury(_ queue: String, consumer: String, entryID: String, letter: DeadLetter, milliseconds: UInt64 = 0) async throws -> Bool
    {
        let finished = record(FinishedJob.fields(letter.envelope, outcome: .dead, milliseconds: milliseconds, error: letter.error))
        let reply = try await Scripts.bury.run(
            on: pool.client, keys: [keys.stream(queue), keys.dead(queue), statsKey(queue), keys.history(queue)],
            arguments: [Keys.group, consumer, entryID] + history.arguments(now: WallClock.unixMilliseconds()) + [String(finished.count)]
                + finished + letter.fields)
        return !reply.isNull && reply.string != nil
    }

    /// Settles an entry by enqueuing its follow-up job; false when it was no longer `consumer`'s.
    /// `finished` is the envelope of the job handing on and `milliseconds` how long it ran (for
    /// its history record).
    public func handOff(
        _ queue: String, consumer: String, entryID: String, next: Envelope, nextQueue: String,
        dedupeTTL: Duration = .seconds(Broker.handOffDedupeSeconds), finished: Envelope? = nil, milliseconds: UInt64 = 0
    ) async throws -> Bool {
        let ttl = next.dedupe == nil ? 0 : max(1, dedupeTTL.components.seconds)
        let done = finished.map { record(FinishedJob.fields($0, outcome: .handedOn, milliseconds: milliseconds, next: next.id)) } ?? []
        let reply = try await Scripts.handOff.run(
            on: pool.client,
            keys: [
                keys.stream(queue), keys.stream(nextQueue), keys.queues, statsKey(queue), keys.dedupe(next.dedupe ?? ""),
                keys.history(queue),
            ],
            arguments: [Keys.group, consumer, entryID, nextQueue, String(ttl), next.id]
                + history.arguments(now: WallClock.unixMilliseconds())
                + [String(done.count)] + done + next.fields)
        return !reply.isNull && (reply.string != nil || reply.integer == 1)
    }

    /// How long a hand-off's idempotency key is remembered: a week, longer than any sender retries
    /// or any retry budget of a stage.
    public static let handOffDedupeSeconds: Int64 = 7 * 86_400

    // MARK: Background duties

    /// What one promotion pass did.
    public struct Promoted: Sendable, Equatable {
        /// Members taken from the delayed set (moved back or quarantined).
        public var taken: Int
        /// Members that were no envelope, now in the dead letters with the reason.
        public var quarantined: Int
    }

    /// Moves due retries back onto the stream, quarantining malformed members in the dead letters.
    public func promote(_ queue: String, now: UInt64, limit: Int = 500) async throws -> Promoted {
        let reply = try await Scripts.promote.run(
            on: pool.client, keys: [keys.delayed(queue), keys.stream(queue), keys.dead(queue)],
            arguments: [String(now), String(limit), queue])
        guard let parts = reply.array, parts.count == 2 else {
            throw RedisError.unexpectedReply(command: "script promote", detail: "expected {taken, quarantined}")
        }
        return Promoted(taken: parts[0].integer ?? 0, quarantined: parts[1].integer ?? 0)
    }

    /// The result of one reclaim pass.
    public struct Reclaimed: Sendable {
        public var cursor: String
        public var entries: [StreamEntry]
        public var buried: Int
    }

    /// Claims entries idle past `visibilityTimeout` for `consumer`, burying poison messages.
    public func reclaim(
        _ queue: String, consumer: String, visibilityTimeout: Duration, count: Int, poisonLimit: Int,
        cursor: String, now: UInt64
    ) async throws -> Reclaimed {
        let reply = try await Scripts.reclaim.run(
            on: pool.client, keys: [keys.stream(queue), keys.dead(queue), statsKey(queue), keys.history(queue)],
            arguments: [
                Keys.group, consumer, String(visibilityTimeout.milliseconds), String(count), String(poisonLimit),
                String(now), queue, cursor,
            ] + history.arguments(now: now))
        guard let parts = reply.array, parts.count == 3 else {
            throw RedisError.unexpectedReply(command: "script reclaim", detail: "expected {cursor, entries, buried}")
        }
        return Reclaimed(cursor: parts[0].string ?? "0-0", entries: StreamEntry.list(parts[1]), buried: parts[2].integer ?? 0)
    }

    /// Renews this consumer's lease on entries it is still running; returns how many it renewed.
    public func heartbeat(_ queue: String, consumer: String, entryIDs: [String]) async throws -> Int {
        var renewed = 0
        for chunk in Self.chunks(entryIDs) {
            let reply = try await Scripts.heartbeat.run(
                on: pool.client, keys: [keys.stream(queue)], arguments: [Keys.group, consumer] + chunk)
            renewed += reply.integer ?? 0
        }
        return renewed
    }

    /// Removes consumers without pending entries that have been idle longer than `idle`, never `keeping`.
    public func removeIdleConsumers(_ queue: String, idle: Duration, keeping: String = "") async throws -> [String] {
        let reply = try await Scripts.removeIdleConsumers.run(
            on: pool.client, keys: [keys.stream(queue)], arguments: [Keys.group, String(idle.milliseconds), keeping])
        return (reply.array ?? []).compactMap(\.string)
    }

    /// Takes `consumer` out of `queue`'s group unless it owns pending entries; true when it left.
    @discardableResult
    public func leaveGroup(_ queue: String, consumer: String) async throws -> Bool {
        let reply = try await Scripts.leaveGroup.run(on: pool.client, keys: [keys.stream(queue)], arguments: [Keys.group, consumer])
        return reply.integer == 1
    }

    // MARK: Dead letters and pausing (operator actions)

    /// One page of a dead-letter stream: newest first from `before` (exclusive), or oldest first
    /// from `after` (exclusive); nil starts at the newest (or oldest) end.
    public func deadPage(_ queue: String, newestFirst: Bool, from cursor: String?, count: Int) async throws -> [StreamEntry] {
        let key = keys.dead(queue)
        let command =
            newestFirst
            ? RedisCommand("XREVRANGE", [key, cursor.map { "(" + $0 } ?? "+", "-", "COUNT", String(count)])
            : RedisCommand("XRANGE", [key, cursor.map { "(" + $0 } ?? "-", "+", "COUNT", String(count)])
        return StreamEntry.list(try await pool.send(command))
    }

    /// One dead letter by its entry id, or nil.
    public func deadEntry(_ queue: String, entryID: String) async throws -> StreamEntry? {
        StreamEntry.list(try await pool.send(RedisCommand("XRANGE", [keys.dead(queue), entryID, entryID]))).first
    }

    /// Moves a dead letter back onto its queue as `envelope`; false when it was already gone.
    public func revive(_ queue: String, entryID: String, as envelope: Envelope) async throws -> Bool {
        let reply = try await Scripts.revive.run(
            on: pool.client, keys: [keys.dead(queue), keys.stream(queue)], arguments: [entryID] + envelope.fields)
        return !reply.isNull && reply.string != nil
    }

    /// Deletes dead letters; returns how many were still there.
    public func dropDead(_ queue: String, entryIDs: [String]) async throws -> Int {
        var dropped = 0
        for chunk in Self.chunks(entryIDs) {
            dropped += try await pool.send(RedisCommand("XDEL", [keys.dead(queue)] + chunk)).integer ?? 0
        }
        return dropped
    }

    /// Adds a dead letter with the given fields (an import); returns its entry id.
    public func addDead(_ queue: String, fields: [String]) async throws -> String {
        let replies = try await pool.pipeline([
            RedisCommand("XADD", [keys.dead(queue), "*"] + fields), RedisCommand("SADD", [keys.queues, queue]),
        ])
        return try Self.check(replies[0], "XADD").string ?? ""
    }

    /// Queues whose consumers take no new jobs.
    public func pausedQueues() async throws -> Set<String> {
        Set((try await pool.send(RedisCommand("SMEMBERS", [keys.paused])).array ?? []).compactMap(\.string))
    }

    /// Pauses or resumes a queue; returns false when it already was in that state.
    public func setPaused(_ queue: String, _ paused: Bool) async throws -> Bool {
        try await pool.send(RedisCommand(paused ? "SADD" : "SREM", [keys.paused, queue])).integer == 1
    }

    private func statsKey(_ queue: String) -> String {
        keys.stats(queue, minute: WallClock.unixMilliseconds() / 60_000)
    }

    static func check(_ reply: RedisValue, _ command: String) throws -> RedisValue {
        if case .error(let message) = reply { throw RedisError.server(command: command, message: message) }
        return reply
    }
}

/// How an envelope is stored as a member of the delayed set: a JSON array of its field/value
/// strings, which the promote script turns back into XADD arguments with `cjson.decode`.
enum DelayedMember {
    static func encode(_ envelope: Envelope) -> String {
        var text = "["
        for (index, field) in envelope.fields.enumerated() {
            if index > 0 { text += "," }
            JSONString.append(quoting: field, to: &text)
        }
        return text + "]"
    }

    static func decode(_ member: String) -> [String]? {
        JSONString.parseStringArray(member)
    }
}
