import Redis

/// Read-only views of the queues for operators and tests: what `switchboard queues` prints.
public struct Inspector: Sendable {
    public let broker: Broker

    public init(broker: Broker) {
        self.broker = broker
    }

    /// One consumer of a queue's group.
    public struct ConsumerInfo: Sendable, Equatable, Codable {
        public var name: String
        public var pending: Int
        public var idleMilliseconds: Int
    }

    /// The state of one queue.
    public struct QueueInfo: Sendable, Equatable, Codable {
        public var queue: String
        /// Entries in the stream: waiting plus in flight (acknowledged ones are deleted).
        public var length: Int
        /// Delivered but not yet settled.
        public var pending: Int
        /// Entries not yet delivered to any consumer (nil when Redis cannot tell).
        public var lag: Int?
        /// Retries waiting for their time.
        public var delayed: Int
        public var dead: Int
        public var consumers: [ConsumerInfo]
        /// Age of the oldest unfinished entry (waiting or in flight), nil when the stream is empty.
        public var oldestAgeMilliseconds: Int?
        /// Paused by an operator: consumers take no new jobs from it.
        public var paused: Bool
        /// Jobs settled successfully, and failed attempts, in the last whole minute.
        public var processedPerMinute: Int
        public var failedPerMinute: Int
    }

    /// Every queue this deployment knows: the given ones plus those registered in Redis.
    public func queueNames(including known: [String] = []) async throws -> [String] {
        let reply = try await broker.pool.send(RedisCommand("SMEMBERS", [broker.keys.queues]))
        let stored = (reply.array ?? []).compactMap(\.string)
        return Array(Set(known + stored)).sorted()
    }

    public func info(_ queue: String) async throws -> QueueInfo {
        let keys = broker.keys
        let lastMinute = WallClock.unixMilliseconds() / 60_000 - 1
        let replies = try await broker.pool.pipeline([
            RedisCommand("XLEN", [keys.stream(queue)]),
            RedisCommand("XINFO", ["GROUPS", keys.stream(queue)]),
            RedisCommand("ZCARD", [keys.delayed(queue)]),
            RedisCommand("XLEN", [keys.dead(queue)]),
            RedisCommand("XINFO", ["CONSUMERS", keys.stream(queue), Keys.group]),
            RedisCommand("XRANGE", [keys.stream(queue), "-", "+", "COUNT", "1"]),
            RedisCommand("SISMEMBER", [keys.paused, queue]),
            RedisCommand("HMGET", [keys.stats(queue, minute: lastMinute), "processed", "failed"]),
        ])
        let minute = replies[7].array ?? []
        var info = QueueInfo(
            queue: queue, length: replies[0].integer ?? 0, pending: 0, lag: nil,
            delayed: replies[2].integer ?? 0, dead: replies[3].integer ?? 0, consumers: [],
            oldestAgeMilliseconds: nil, paused: replies[6].integer == 1,
            processedPerMinute: minute.first?.integer ?? 0, failedPerMinute: minute.dropFirst().first?.integer ?? 0)
        if let oldest = StreamEntry.list(replies[5]).first, let millis = UInt64(oldest.id.split(separator: "-").first ?? "") {
            info.oldestAgeMilliseconds = Int(WallClock.unixMilliseconds()) - Int(clamping: millis)
        }
        if let fields = Self.workers(replies[1]) {
            info.pending = fields["pending"]?.integer ?? 0
            info.lag = fields["lag"]?.integer
        }
        info.consumers = (replies[4].array ?? []).map { consumer in
            let fields = Self.pairs(consumer)
            return ConsumerInfo(
                name: fields["name"]?.string ?? "", pending: fields["pending"]?.integer ?? 0,
                idleMilliseconds: fields["idle"]?.integer ?? 0)
        }
        return info
    }

    /// Retries waiting in the delayed set with their due times (unix ms), soonest first.
    public func delayed(_ queue: String, count: Int = 100) async throws -> [(envelope: Envelope, dueAt: UInt64)] {
        let reply = try await broker.pool.send(RedisCommand("ZRANGE", [broker.keys.delayed(queue), "0", String(count - 1), "WITHSCORES"]))
        let flat = reply.array ?? []
        var result: [(Envelope, UInt64)] = []
        var index = 0
        while index + 1 < flat.count {
            if let member = flat[index].string, let list = DelayedMember.decode(member) {
                let fields = stride(from: 0, to: list.count - 1, by: 2).map { (list[$0], list[$0 + 1]) }
                if let envelope = try? Envelope(fields: fields) {
                    let score = flat[index + 1].string.flatMap(Double.init) ?? 0
                    result.append((envelope, score.isFinite && score >= 0 ? UInt64(min(score, 1e18)) : 0))
                }
            }
            index += 2
        }
        return result
    }

    /// The `workers` group's fields in an XINFO GROUPS reply (nil before anyone read the queue).
    private static func workers(_ reply: RedisValue) -> [String: RedisValue]? {
        (reply.array ?? []).lazy.map(pairs).first { $0["name"]?.string == Keys.group }
    }

    private static func pairs(_ value: RedisValue) -> [String: RedisValue] {
        Dictionary(value.pairs, uniquingKeysWith: { _, last in last })
    }
}

extension Inspector {
    /// What the Prometheus gauges show of one queue, read so that a scrape stays cheap whatever
    /// the backlog: every value is O(1) or O(log n) in Redis (no scan of a stream or a set).
    public struct Gauges: Sendable, Equatable {
        public var queue: String
        /// Entries in the stream: waiting plus in flight.
        public var depth: Int
        public var pending: Int
        /// Waiting: not yet delivered to any consumer (depth − pending, as settled entries are deleted).
        public var lag: Int
        /// How long the oldest waiting job has waited; 0 when none waits.
        public var oldestWaitingMilliseconds: Int
        public var delayed: Int
        public var dead: Int
        /// Consumers registered in the queue's group (dead ones leave it once their work is reclaimed).
        public var consumers: Int
        public var paused: Bool
    }

    /// The gauges of `queues` in two round trips, however many queues.
    public func gauges(_ queues: [String], now: UInt64 = WallClock.unixMilliseconds()) async throws -> [Gauges] {
        let keys = broker.keys
        var commands: [RedisCommand] = []
        for queue in queues {
            commands += [
                RedisCommand("XLEN", [keys.stream(queue)]),
                RedisCommand("XINFO", ["GROUPS", keys.stream(queue)]),
                RedisCommand("ZCARD", [keys.delayed(queue)]),
                RedisCommand("XLEN", [keys.dead(queue)]),
                RedisCommand("SISMEMBER", [keys.paused, queue]),
            ]
        }
        // A queue nobody has read yet has no stream: XINFO answers it with an error, in its place.
        let replies = try await broker.pool.pipeline(commands)
        var found: [Gauges] = []
        var waitingSince: [RedisCommand] = []
        for (index, queue) in queues.enumerated() {
            let reply = Array(replies[(index * 5)..<(index * 5 + 5)])
            var gauges = Gauges(
                queue: queue, depth: reply[0].integer ?? 0, pending: 0, lag: 0, oldestWaitingMilliseconds: 0,
                delayed: reply[2].integer ?? 0, dead: reply[3].integer ?? 0, consumers: 0, paused: reply[4].integer == 1)
            let group = Self.workers(reply[1])
            gauges.pending = group?["pending"]?.integer ?? 0
            gauges.consumers = group?["consumers"]?.integer ?? 0
            let lastDelivered = group?["last-delivered-id"]?.string ?? "0-0"
            gauges.lag = max(gauges.depth - gauges.pending, 0)
            found.append(gauges)
            waitingSince.append(RedisCommand("XRANGE", [keys.stream(queue), "(" + lastDelivered, "+", "COUNT", "1"]))
        }
        for (index, reply) in try await broker.pool.pipeline(waitingSince).enumerated() where found[index].lag > 0 {
            if let oldest = StreamEntry.list(reply).first, let since = StreamID.parse(oldest.id)?.0 {
                found[index].oldestWaitingMilliseconds = Int(clamping: now > since ? now - since : 0)
            }
        }
        return found
    }
}

extension Inspector {
    /// A job in a queue as the console lists it.
    public struct Listed: Sendable {
        public var entryID: String
        public var envelope: Envelope?
        /// Running: the consumer holding it, how long since it last heard of it, deliveries so far.
        public var consumer: String?
        public var idleMilliseconds: Int?
        public var deliveries: Int?
    }

    /// The first `count` jobs waiting (not yet delivered), oldest first.
    public func waiting(_ queue: String, count: Int) async throws -> [Listed] {
        let groups = try await broker.pool.pipeline([RedisCommand("XINFO", ["GROUPS", broker.keys.stream(queue)])])[0]
        let lastDelivered = Self.workers(groups)?["last-delivered-id"]?.string ?? "0-0"
        let reply = try await broker.pool.send(
            RedisCommand("XRANGE", [broker.keys.stream(queue), "(" + lastDelivered, "+", "COUNT", String(count)]))
        return StreamEntry.list(reply).map { Listed(entryID: $0.id, envelope: try? Envelope(fields: $0.fields)) }
    }

    /// The first `count` jobs running (delivered, not settled), with their consumer and idle time.
    public func running(_ queue: String, count: Int) async throws -> [Listed] {
        let stream = broker.keys.stream(queue)
        let pending =
            try await broker.pool.pipeline([RedisCommand("XPENDING", [stream, Keys.group, "-", "+", String(count)])])[0].array ?? []
        let records = pending.compactMap { record -> (String, String, Int, Int)? in
            guard let fields = record.array, fields.count >= 4, let id = fields[0].string, let consumer = fields[1].string else {
                return nil
            }
            return (id, consumer, fields[2].integer ?? 0, fields[3].integer ?? 0)
        }
        let entries = try await broker.pool.pipeline(records.map { RedisCommand("XRANGE", [stream, $0.0, $0.0]) })
        return zip(records, entries).map { record, reply in
            Listed(
                entryID: record.0, envelope: StreamEntry.list(reply).first.flatMap { try? Envelope(fields: $0.fields) },
                consumer: record.1, idleMilliseconds: record.2, deliveries: record.3)
        }
    }

    /// Processed and failed counts of each of the last `minutes` whole minutes, oldest first, for
    /// each of `queues` (one pipeline for all of them).
    public func perMinute(_ queues: [String], minutes: Int, now: UInt64 = WallClock.unixMilliseconds()) async throws -> [String: [(
        processed: Int, failed: Int
    )]] {
        let current = now / 60_000
        let range = (current - UInt64(minutes))..<current
        let replies = try await broker.pool.pipeline(
            queues.flatMap { queue in
                range.map { RedisCommand("HMGET", [broker.keys.stats(queue, minute: $0), "processed", "failed"]) }
            })
        var counts: [String: [(processed: Int, failed: Int)]] = [:]
        for (index, queue) in queues.enumerated() {
            counts[queue] = replies[(index * minutes)..<((index + 1) * minutes)].map { reply in
                let values = reply.array ?? []
                return (values.first?.integer ?? 0, values.dropFirst().first?.integer ?? 0)
            }
        }
        return counts
    }

    /// A consumer of the deployment: the queues it reads, its jobs in flight, when it was last heard of.
    public struct ConsumerSummary: Sendable {
        public var name: String
        /// The host part of the name (`ConsumerName`): the container.
        public var host: String
        public var queues: [String]
        public var pending: Int
        public var idleMilliseconds: Int
    }

    /// Every consumer registered in any of `queues`' groups.
    public func consumers(_ queues: [String]) async throws -> [ConsumerSummary] {
        let replies = try await broker.pool.pipeline(
            queues.map { RedisCommand("XINFO", ["CONSUMERS", broker.keys.stream($0), Keys.group]) })
        var found: [String: ConsumerSummary] = [:]
        for (queue, reply) in zip(queues, replies) {
            for consumer in reply.array ?? [] {
                let fields = Self.pairs(consumer)
                guard let name = fields["name"]?.string else { continue }
                var summary =
                    found[name] ?? ConsumerSummary(name: name, host: Self.host(of: name), queues: [], pending: 0, idleMilliseconds: Int.max)
                summary.queues.append(queue)
                summary.pending += fields["pending"]?.integer ?? 0
                summary.idleMilliseconds = min(summary.idleMilliseconds, fields["idle"]?.integer ?? Int.max)
                found[name] = summary
            }
        }
        return found.values.sorted { $0.name < $1.name }
    }

    /// `host-pid-suffix` → `host` (a host name may itself hold dashes).
    static func host(of name: String) -> String {
        let parts = name.split(separator: "-")
        return parts.count >= 3 ? parts.dropLast(2).joined(separator: "-") : name
    }
}
