import Redis

/// The marks of side effects done outside Redis — a reply posted to Chatwoot, a conversation
/// handed to people — so a stage that runs again (a retry, a crash before its acknowledgement)
/// does not do them twice: the one way to reach `{p}:done:<name>`.
///
/// A mark is claimed before the side effect (only one claimant wins), completed with its result
/// once it happened (only by the claim that holds it), and released or forgotten so it can be done
/// again (a refusal that created nothing, a conversation Chatwoot gave back).
public struct SideEffects: Sendable {
    let pool: RedisPool
    let keys: Keys

    public init(pool: RedisPool, keys: Keys) {
        self.pool = pool
        self.keys = keys
    }

    /// Claims `name` with `claim` unless it is marked; nil when claimed, else what the mark holds
    /// (another attempt's claim, or the side effect's result).
    public func claim(_ name: String, with claim: String, lifetime: Duration) async throws -> String? {
        let key = keys.done(name)
        let reply = try await pool.send(RedisCommand("SET", [key, claim, "NX", "EX", String(max(1, lifetime.components.seconds))]))
        if reply.string == "OK" { return nil }
        return try await pool.send(RedisCommand("GET", [key])).string ?? ""
    }

    /// Replaces the mark only if it still holds `expected` (a claim, with its result or a newer
    /// claim); true when replaced.
    public func complete(_ name: String, expected: String, with value: String, lifetime: Duration) async throws -> Bool {
        try await Scripts.swap.run(
            on: pool.client, keys: [keys.done(name)], arguments: [expected, value, String(max(1, lifetime.components.seconds))]
        ).integer == 1
    }

    /// Removes the mark only if it still holds `claim`: the side effect did not happen.
    public func release(_ name: String, ifHolding claim: String) async throws {
        _ = try await Scripts.releaseLease.run(on: pool.client, keys: [keys.done(name)], arguments: [claim])
    }

    /// What the mark holds, or nil when there is none.
    public func read(_ name: String) async throws -> String? {
        try await pool.send(RedisCommand("GET", [keys.done(name)])).string
    }

    /// Removes the mark whatever it holds: the side effect may be done again.
    public func forget(_ name: String) async throws {
        _ = try await pool.send(RedisCommand("DEL", [keys.done(name)]))
    }
}
