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
        let lastMinute = Clock.unixMilliseconds() / 60_000 - 1
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
        var info = QueueInfo(queue: queue, length: replies[0].integer ?? 0, pending: 0, lag: nil,
                             delayed: replies[2].integer ?? 0, dead: replies[3].integer ?? 0, consumers: [],
                             oldestAgeMilliseconds: nil, paused: replies[6].integer == 1,
                             processedPerMinute: minute.first?.integer ?? 0, failedPerMinute: minute.dropFirst().first?.integer ?? 0)
        if let oldest = StreamEntry.list(replies[5]).first, let millis = UInt64(oldest.id.split(separator: "-").first ?? "") {
            info.oldestAgeMilliseconds = Int(Clock.unixMilliseconds()) - Int(clamping: millis)
        }
        for group in replies[1].array ?? [] {
            let fields = Self.pairs(group)
            guard fields["name"]?.string == Keys.group else { continue }
            info.pending = fields["pending"]?.integer ?? 0
            info.lag = fields["lag"]?.integer
        }
        info.consumers = (replies[4].array ?? []).map { consumer in
            let fields = Self.pairs(consumer)
            return ConsumerInfo(name: fields["name"]?.string ?? "", pending: fields["pending"]?.integer ?? 0,
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

    private static func pairs(_ value: RedisValue) -> [String: RedisValue] {
        Dictionary(value.pairs, uniquingKeysWith: { _, last in last })
    }
}
