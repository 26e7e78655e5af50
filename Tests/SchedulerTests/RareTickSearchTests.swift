import Foundation
import Testing

@testable import Scheduler

/// A rarely firing entry (yearly, the 29th of February) once cost the leader 45 % of a core for an
/// hour after it fired: the next and latest ticks were searched minute by minute. The search jumps
/// over days and hours the fields cannot match, and finds the same ticks a minute-by-minute walk does.
@Suite struct RareTickSearchTests {
    static func utc(_ text: String) -> Int { Int(ISO8601DateFormatter().date(from: text)!.timeIntervalSince1970) }

    /// The first tick after `time` found one minute at a time: the reference.
    static func walkedNextTick(_ schedule: CronSchedule, after time: Int, within horizon: Int) -> Int? {
        var minute = time - time % 60 + 60
        while minute <= time + horizon {
            if schedule.isTick(minute) { return minute }
            minute += 60
        }
        return nil
    }

    @Test(arguments: [
        "0 0 29 2 *", "@yearly", "30 2 * * *", "15 1,2,3 * 3,10,11 sun", "0 12 13 * fri", "*/20 9-17 * * mon-fri", "59 23 31 12 *",
    ])
    func theTicksAreThoseAMinuteByMinuteWalkFinds(_ expression: String) throws {
        for zone in ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe"] {
            let schedule = try CronSchedule(expression, timeZone: try #require(TimeZone(identifier: zone)))
            // Around both of the year's jumps, and across a leap day.
            for start in [
                "2026-03-07T11:17:00Z", "2026-03-28T20:00:00Z", "2026-10-24T21:59:00Z", "2026-10-31T23:00:00Z", "2028-02-27T05:00:00Z",
            ] {
                var time = Self.utc(start)
                for _ in 0..<3 {
                    let walked = Self.walkedNextTick(schedule, after: time, within: 40 * 86_400)
                    let searched = schedule.nextTick(after: time)
                    if let walked {
                        #expect(searched == walked, "\(expression) in \(zone) after \(start)")
                        #expect(schedule.latestTick(atOrBefore: walked + 59, lookingBack: 3 * 86_400) == walked, "\(expression) in \(zone)")
                        time = walked
                    } else {
                        #expect(searched.map { $0 > time + 40 * 86_400 } ?? true, "\(expression) in \(zone) after \(start)")
                        break
                    }
                }
            }
        }
    }

    @Test func aRareTickIsFoundInAFewHundredLooksNotHalfAMillion() throws {
        for zone in ["UTC", "Europe/Paris"] {
            let leapDay = try CronSchedule("0 0 29 2 *", timeZone: try #require(TimeZone(identifier: zone)))
            let after = Self.utc("2026-11-25T00:00:00Z")
            let next = leapDay.nextTickSearch(after: after)
            #expect(next.tick.map { $0 > Self.utc("2028-02-28T00:00:00Z") && $0 < Self.utc("2028-03-01T00:00:00Z") } == true)
            #expect(next.looks < 1000, "\(zone): \(next.looks) minutes looked at")
            // The leader's catch-up look: thirty days back with no tick in them.
            let latest = leapDay.latestTickSearch(atOrBefore: after, lookingBack: 30 * 86_400)
            #expect(latest.tick == nil)
            #expect(latest.looks < 1000, "\(zone): \(latest.looks) minutes looked at")
            // The hour after it fired: the next one is four years on, still cheap.
            let fired = try #require(next.tick)
            #expect(leapDay.nextTickSearch(after: fired + 600).looks < 1000)
            #expect(leapDay.latestTickSearch(atOrBefore: fired + 3600, lookingBack: 30 * 86_400).tick == fired)
        }
    }
}
