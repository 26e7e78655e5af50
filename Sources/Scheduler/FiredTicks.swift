import Queue
import Redis

/// The last time each schedule entry fired and the job it made, kept in Redis (one hash) for the
/// operator: `switchboard schedules` shows it beside the next fire. Written after the job is
/// enqueued; a failure to write it loses only the display, never a job.
public struct FiredTicks: Sendable {
    public struct Fire: Sendable, Equatable, Encodable {
        /// Unix seconds of the tick (or of the manual run).
        public var tick: Int
        public var jobID: String
    }

    let pool: RedisPool
    let keys: Keys

    public init(pool: RedisPool, keys: Keys) {
        self.pool = pool
        self.keys = keys
    }

    public func record(_ name: String, tick: Int, jobID: String) async throws {
        try await pool.send("HSET", keys.schedulerFired, name, "\(tick) \(jobID)")
    }

    public func all() async throws -> [String: Fire] {
        var fires: [String: Fire] = [:]
        for (name, value) in try await pool.send("HGETALL", keys.schedulerFired).pairs {
            let parts = (value.string ?? "").split(separator: " ")
            if parts.count == 2, let tick = Int(parts[0]) { fires[name] = Fire(tick: tick, jobID: String(parts[1])) }
        }
        return fires
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// The scheduler's leader lease: the name of the replica that fires ticks.
    public var schedulerLeader: String { named("scheduler:leader") }
    /// Each schedule entry's last fire: entry name → `<tick> <job id>` (a hash).
    public var schedulerFired: String { named("scheduler:fired") }
}
