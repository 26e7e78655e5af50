import Foundation
import Queue
import Redis

/// What operators see of the schedule and the one action they take on it, shared by
/// `switchboard schedules` and the console: each entry's next and last fire (and whether that job
/// died), the leader, and running an entry now.
public struct ScheduleBoard: Sendable {
    public struct Row: Sendable, Encodable {
        public var name: String
        public var cron: String
        public var zone: String
        public var kind: String
        public var queue: String
        /// Unix seconds of the next tick after now.
        public var next: Int?
        public var last: FiredTicks.Fire?
        /// `dead` when the last fire's job is in the dead letters, `not dead` otherwise.
        public var lastOutcome: String?
    }

    public struct Leader: Sendable, Encodable {
        public var replica: String
        public var leaseLeftMilliseconds: Int
    }

    let broker: Broker

    public init(broker: Broker) {
        self.broker = broker
    }

    public func rows(_ entries: [ScheduleEntry], now: Int = Int(Date().timeIntervalSince1970)) async throws -> [Row] {
        let fired = try await FiredTicks(pool: broker.pool, keys: broker.keys).all()
        var rows: [Row] = []
        for entry in entries {
            let last = fired[entry.name]
            var outcome: String?
            if let last {
                // Only that queue's letters buried since the fire, a few hundred at most: a page
                // refreshed every 5 s must not read every dead letter.
                let letter = try await DeadLetters(broker: broker).find(
                    last.jobID, queue: entry.job.queue, buriedSince: UInt64(min(max(last.tick, 0), Int.max / 1000)) * 1000,
                    scanning: 500)
                outcome = letter != nil ? "dead" : "not dead"
            }
            rows.append(
                Row(
                    name: entry.name, cron: entry.schedule.description, zone: entry.schedule.zoneName, kind: entry.job.kind,
                    queue: entry.job.queue, next: entry.schedule.nextTick(after: now), last: last, lastOutcome: outcome))
        }
        return rows
    }

    /// The replica holding the lease, if any.
    public func leader() async throws -> Leader? {
        let holder = try await broker.pool.send("GET", broker.keys.schedulerLeader).string
        let left = try await broker.pool.send("PTTL", broker.keys.schedulerLeader).integer ?? -2
        return holder.map { Leader(replica: $0, leaseLeftMilliseconds: max(left, 0)) }
    }

    /// Enqueues `entry`'s job now, once per second: a second run within the same second (a
    /// double click, two operators) makes no second job.
    public func runNow(_ entry: ScheduleEntry, now: Int = Int(Date().timeIntervalSince1970)) async throws -> Broker.GuardedAdd {
        let dedupe = "scheduler:\(entry.name):manual:\(now)"
        var job = entry.job
        job.dedupe = dedupe
        let result = try await broker.addGuarded(job.envelope(), to: job.queue, dedupeKey: dedupe, ttlSeconds: 86_400, highWater: 0)
        if case .added(let id) = result {
            try? await FiredTicks(pool: broker.pool, keys: broker.keys).record(entry.name, tick: now, jobID: id)
        }
        return result
    }
}
