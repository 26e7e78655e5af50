import Queue
import Redis

/// What the gauge and autoscaler benchmarks do around their rounds: a backlog written straight
/// into a queue's stream (50,000 entries a script call), and every key under the run's prefix
/// removed afterwards.
enum BenchBacklog {
    static func fill(_ pool: RedisPool, stream: String, jobs: Int) async throws {
        var added = 0
        while added < jobs {
            let batch = min(50_000, jobs - added)
            try await pool.send(
                "EVAL",
                """
                for i = 1, tonumber(ARGV[1]) do
                    redis.call('XADD', KEYS[1], '*', 'id', 'bench' .. i, 'kind', 'chat.retrieve', 'attempt', '1', 'max_attempts', '4', 'enqueued_at', '0', 'payload', '{}')
                end
                return 1
                """, "1", stream, String(batch))
            added += batch
        }
    }

    static func removeAll(_ pool: RedisPool, keys: Keys) async throws {
        var cursor = "0"
        repeat {
            let reply = try await pool.send("SCAN", cursor, "MATCH", "{\(keys.prefix)}:*", "COUNT", "1000").array ?? []
            cursor = reply.first?.string ?? "0"
            let found = (reply.dropFirst().first?.array ?? []).compactMap(\.string)
            if !found.isEmpty { try await pool.send(RedisCommand("UNLINK", found)) }
        } while cursor != "0"
    }
}
