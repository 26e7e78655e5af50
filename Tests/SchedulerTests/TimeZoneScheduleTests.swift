import Foundation
import Testing

@testable import Queue
@testable import Scheduler

/// Schedules read on a zone's wall clock, through both of its yearly jumps.
@Suite struct TimeZoneScheduleTests {
    static func utc(_ text: String) -> Int {
        Int(ISO8601DateFormatter().date(from: text)!.timeIntervalSince1970)
    }

    /// Every tick between two instants.
    static func ticks(_ schedule: CronSchedule, from start: String, to end: String) -> [Int] {
        var ticks: [Int] = []
        var time = utc(start)
        while let next = schedule.nextTick(after: time), next < utc(end) {
            ticks.append(next)
            time = next
        }
        return ticks
    }

    /// Paris skips 02:00–03:00 in March and lives 02:00–03:00 twice in October; New York skips
    /// 02:00–03:00 in March and lives 01:00–02:00 twice in November.
    @Test(arguments: [
        // zone, day, a time of day in the gap or the repeated hour, the one tick that day
        ("Europe/Paris", "2026-03-29", "30 2 * * *", "2026-03-29T01:00:00Z"),
        ("Europe/Paris", "2026-10-25", "30 2 * * *", "2026-10-25T00:30:00Z"),
        ("America/New_York", "2026-03-08", "30 2 * * *", "2026-03-08T07:00:00Z"),
        ("America/New_York", "2026-11-01", "30 1 * * *", "2026-11-01T05:30:00Z"),
    ])
    func aTimeOfDayHappensOnceOnTheDayTheClockJumps(_ zone: String, _ day: String, _ cron: String, _ tick: String) throws {
        let schedule = try CronSchedule(cron, timeZone: try #require(TimeZone(identifier: zone)))
        // The day of the jump, local midnight to midnight (±14 h covers it): exactly its one tick.
        let ticks = Self.ticks(schedule, from: "\(day)T00:00:00Z", to: "\(day)T12:00:00Z").filter { $0 >= Self.utc(tick) - 6 * 3600 }
        #expect(ticks == [Self.utc(tick)], "\(zone) \(day) \(cron): \(ticks.map { Date(timeIntervalSince1970: TimeInterval($0)) })")
        // Over the three days around the jump, three ticks: none lost, none doubled.
        let start = Self.utc(day + "T12:00:00Z") - 86_400 - 12 * 3600
        let around = Self.ticks(
            schedule, from: ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(start))),
            to: ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(start + 3 * 86_400))))
        #expect(around.count == 3, "\(zone) around \(day): \(around.map { Date(timeIntervalSince1970: TimeInterval($0)) })")
        // Looking back from after the repeated hour finds the tick, not a second one.
        #expect(schedule.latestTick(atOrBefore: Self.utc(tick) + 3600 + 60, lookingBack: 7200) == Self.utc(tick))
    }

    @Test func anHourlyScheduleRunsThroughTheRepeatedHour() throws {
        let schedule = try CronSchedule("0 * * * *", timeZone: try #require(TimeZone(identifier: "Europe/Paris")))
        // 2026-10-25: 24 hours of the day plus the repeated one.
        let ticks = Self.ticks(schedule, from: "2026-10-24T21:59:00Z", to: "2026-10-25T22:59:00Z")
        #expect(ticks.count == 25)
    }

    @Test func aZoneIsReadFromTheScheduleFileAndAnUnknownOneRefused() throws {
        let registry = JobRegistry([
            JobDefinition(kind: "noop", queue: "diagnostics", retry: .once, timeout: .seconds(5), payload: [String: String].self) { _, _ in
                .done
            }
        ])
        let entries = try ScheduleEntry.load(
            Data(#"[{"name": "paris", "cron": "30 2 * * *", "kind": "noop", "tz": "Europe/Paris"}]"#.utf8), registry: registry)
        #expect(entries.first?.schedule.timeZone.identifier == "Europe/Paris")
        #expect(entries.first?.schedule.nextTick(after: Self.utc("2026-11-29T00:00:00Z")) == Self.utc("2026-11-29T01:30:00Z"))
        #expect {
            try ScheduleEntry.load(
                Data(#"[{"name": "mars", "cron": "30 2 * * *", "kind": "noop", "tz": "Mars/Olympus"}]"#.utf8), registry: registry)
        } throws: { "\($0)".contains("mars") && "\($0)".contains("Mars/Olympus") }
    }
}
