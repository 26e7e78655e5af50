import Metrics
import Queue
import Redis

/// Each schedule entry's ticks as Prometheus gauges, so an alert sees a tick that should have
/// fired and did not (no leader, Redis refusing, a replica stuck):
///
/// - `switchboard_schedule_due_tick_timestamp_seconds{schedule}`: the latest tick at or before now
///   within the catch-up window (0 when none falls in it)
/// - `switchboard_schedule_fired_tick_timestamp_seconds{schedule}`: the latest tick fired, as Redis
///   records it (absent until the entry first fires)
///
/// Every replica shows the same values (the due tick from the schedule, the fired one from Redis).
public struct ScheduleGauges: Sendable {
    let entries: [ScheduleEntry]
    let fired: FiredTicks
    let catchUp: Duration
    let now: @Sendable () -> Int

    public init(entries: [ScheduleEntry], pool: RedisPool, keys: Keys, catchUp: Duration, now: @escaping @Sendable () -> Int) {
        self.entries = entries
        fired = FiredTicks(pool: pool, keys: keys)
        self.catchUp = catchUp
        self.now = now
    }

    public func refresh() async {
        let time = now()
        for entry in entries {
            let due = entry.schedule.latestTick(atOrBefore: time, lookingBack: Int(catchUp.components.seconds)) ?? 0
            Gauge(label: "switchboard_schedule_due_tick_timestamp_seconds", dimensions: [("schedule", entry.name)]).record(due)
        }
        guard let fires = try? await fired.all() else { return }
        for entry in entries {
            guard let fire = fires[entry.name] else { continue }
            Gauge(label: "switchboard_schedule_fired_tick_timestamp_seconds", dimensions: [("schedule", entry.name)]).record(fire.tick)
        }
    }
}
