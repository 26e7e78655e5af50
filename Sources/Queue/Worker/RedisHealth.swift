import Redis

/// Start-up checks on the Redis the queues live in.
public enum RedisHealth {
    /// A warning when Redis may evict keys under memory pressure (any `maxmemory-policy` but
    /// `noeviction`), which would silently delete queued jobs; nil when the policy is safe.
    /// A Redis that refuses CONFIG (managed services) gets a softer note to check by hand.
    public static func evictionWarning(_ client: RedisClient) async throws -> String? {
        let reply: RedisValue
        do {
            reply = try await client.send("CONFIG", "GET", "maxmemory-policy")
        } catch let error as RedisError where !error.isConnectionProblem {
            return "cannot read Redis maxmemory-policy (\(error)); make sure it is 'noeviction', or Redis may evict queued jobs"
        }
        guard let pair = reply.array, pair.count == 2, let policy = pair[1].string else { return nil }
        guard policy != "noeviction" else { return nil }
        return "Redis maxmemory-policy is '\(policy)': under memory pressure Redis will evict keys and silently lose queued jobs. Set 'maxmemory-policy noeviction' (CONFIG SET maxmemory-policy noeviction, and in redis.conf)."
    }
}
