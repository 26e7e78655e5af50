import Logging

/// Checks on the Redis the queues live in, run by every role at start-up: settings under which
/// Redis itself loses jobs that Switchboard was told it has.
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
        return
            "Redis maxmemory-policy is '\(policy)': under memory pressure Redis will evict keys and silently lose queued jobs. Set 'maxmemory-policy noeviction' (CONFIG SET maxmemory-policy noeviction, and in redis.conf)."
    }

    /// How much of what Redis acknowledged survives a crash of Redis or of its machine.
    public struct Persistence: Sendable, Equatable {
        /// `aof-always`, `aof-everysec`, `aof-no`, `rdb`, `none`, or `unknown` (CONFIG refused).
        public var mode: String
        /// What a crash loses, in words an operator can act on.
        public var loss: String
        /// How loudly to say it at start: `critical` when a restart loses queues (no AOF, or
        /// unknown), `warning` when a machine crash loses half a minute (`appendfsync no`), `notice`
        /// for the documented cost of `everysec` (one second), `info` when nothing is lost.
        public var severity: Logger.Level

        public init(mode: String, loss: String, severity: Logger.Level) {
            self.mode = mode
            self.loss = loss
            self.severity = severity
        }

        /// Reads it from `appendonly`, `appendfsync` and `save`.
        public init(appendOnly: String, appendFsync: String, save: String) {
            if appendOnly == "yes" {
                switch appendFsync {
                case "always":
                    self.init(mode: "aof-always", loss: "nothing Redis acknowledged is lost in a crash", severity: .info)
                case "everysec":
                    self.init(
                        mode: "aof-everysec",
                        loss:
                            "a crash of Redis or its machine loses up to one second of acknowledged jobs (appendfsync everysec); appendfsync always loses none, at a cost in throughput",
                        severity: .notice)
                default:
                    self.init(
                        mode: "aof-\(appendFsync)",
                        loss:
                            "the operating system decides when the append-only file reaches the disk (appendfsync \(appendFsync)): a crash of the machine can lose about 30 seconds of acknowledged jobs",
                        severity: .warning)
                }
            } else if !save.trimmingCharacters(in: .whitespaces).isEmpty {
                self.init(
                    mode: "rdb",
                    loss:
                        "only RDB snapshots (save \(save)): a restart loses every job acknowledged since the last snapshot; turn on appendonly yes",
                    severity: .critical)
            } else {
                self.init(
                    mode: "none",
                    loss: "Redis persists nothing (appendonly no, no save): a restart loses every queue; turn on appendonly yes",
                    severity: .critical)
            }
        }
    }

    /// The server's persistence; `unknown` with a note when CONFIG is refused (managed services).
    public static func persistence(_ client: RedisClient) async throws -> Persistence {
        let replies: [RedisValue]
        do {
            replies = try await client.pipeline([
                RedisCommand("CONFIG", ["GET", "appendonly"]), RedisCommand("CONFIG", ["GET", "appendfsync"]),
                RedisCommand("CONFIG", ["GET", "save"]),
            ])
        } catch let error as RedisError where !error.isConnectionProblem {
            return Persistence(
                mode: "unknown", loss: "cannot read Redis's persistence settings (\(error)); check that appendonly is on",
                severity: .critical)
        }
        func value(_ reply: RedisValue) -> String? {
            guard let pair = reply.array, pair.count == 2 else { return nil }
            return pair[1].string
        }
        guard let appendOnly = value(replies[0]), let appendFsync = value(replies[1]), let save = value(replies[2]) else {
            let refusal = replies.first { if case .error = $0 { true } else { false } }.map { "\($0)" } ?? "an unexpected reply"
            return Persistence(
                mode: "unknown", loss: "cannot read Redis's persistence settings (\(refusal)); check that appendonly is on",
                severity: .critical)
        }
        return Persistence(appendOnly: appendOnly, appendFsync: appendFsync, save: save)
    }
}
