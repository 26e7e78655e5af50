import Queue
import Redis

/// Every action an operator took — from the console, and a person forgotten from the command line
/// — kept in a stream of its own (`Keys.audit`, the last 10,000): who, with which role, what, on
/// what, how many, and when (the entry's id). Written after the action took effect, with what it
/// did, not what was asked.
public struct AuditLog: Sendable {
    public struct Entry: Sendable {
        public var at: UInt64
        public var who: String
        public var role: String
        public var action: String
        public var target: String
        public var count: Int
    }

    let pool: RedisPool
    let keys: Keys
    static let kept = 10_000

    public init(pool: RedisPool, keys: Keys) {
        self.pool = pool
        self.keys = keys
    }

    public func record(who: String, role: String, action: String, target: String, count: Int) async throws {
        try await pool.send(
            RedisCommand(
                "XADD",
                [
                    keys.audit, "MAXLEN", "~", String(Self.kept), "*",
                    "who", who, "role", role, "action", action, "target", target, "count", String(count),
                ]))
    }

    /// The newest `count` entries, newest first.
    public func latest(_ count: Int) async throws -> [Entry] {
        let reply = try await pool.send(RedisCommand("XREVRANGE", [keys.audit, "+", "-", "COUNT", String(count)]))
        return (reply.array ?? []).compactMap { item in
            guard let pair = item.array, pair.count == 2, let id = pair[0].string else { return nil }
            let fields = Dictionary(pair[1].pairs.map { ($0.key, $0.value.string ?? "") }, uniquingKeysWith: { _, last in last })
            return Entry(
                at: UInt64(id.split(separator: "-").first ?? "") ?? 0, who: fields["who"] ?? "?", role: fields["role"] ?? "?",
                action: fields["action"] ?? "?", target: fields["target"] ?? "", count: Int(fields["count"] ?? "") ?? 0)
        }
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// What operators did from the console: who, what, on what, how many (a stream, capped).
    public var audit: String { named("audit") }
}
