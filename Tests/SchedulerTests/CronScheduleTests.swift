import Foundation
import Testing

@testable import Scheduler

@Suite struct CronScheduleTests {
    /// 2026-11-25 22:37:10 UTC, a Wednesday.
    static let wednesday = 1_795_732_630

    static func utc(_ text: String) -> Int {
        let formatter = ISO8601DateFormatter()
        return Int(formatter.date(from: text)!.timeIntervalSince1970)
    }

    @Test func knownAnswers() throws {
        let now = Self.utc("2026-11-25T22:37:10Z")
        #expect(try CronSchedule("*/15 * * * *").nextTick(after: now) == Self.utc("2026-11-25T22:45:00Z"))
        #expect(try CronSchedule("0 3 * * *").nextTick(after: now) == Self.utc("2026-11-26T03:00:00Z"))
        #expect(
            try CronSchedule("0 9 * * mon-fri").nextTick(after: Self.utc("2026-11-27T10:00:00Z")) == Self.utc("2026-11-30T09:00:00Z"),
            "Friday after 9 → Monday")
        #expect(try CronSchedule("30 2 1 * *").nextTick(after: now) == Self.utc("2026-12-01T02:30:00Z"))
        #expect(try CronSchedule("0 0 * feb 0").nextTick(after: now) == Self.utc("2027-02-07T00:00:00Z"), "first Sunday of February")
        #expect(try CronSchedule("0 0 * * 7").nextTick(after: now) == Self.utc("2026-11-29T00:00:00Z"), "7 is Sunday")
        #expect(try CronSchedule("@daily").nextTick(after: now) == Self.utc("2026-11-26T00:00:00Z"))
        #expect(try CronSchedule("@hourly").latestTick(atOrBefore: now, lookingBack: 3600) == Self.utc("2026-11-25T22:00:00Z"))
        #expect(try CronSchedule("0 3 * * *").latestTick(atOrBefore: now, lookingBack: 3600) == nil, "03:00 is beyond the window")
        #expect(try CronSchedule("0 22 * * *").latestTick(atOrBefore: now, lookingBack: 3600) == Self.utc("2026-11-25T22:00:00Z"))
        // Both day fields restricted: either matches (the 1st, or any Monday).
        #expect(try CronSchedule("0 0 1 * mon").nextTick(after: now) == Self.utc("2026-11-30T00:00:00Z"))
    }

    @Test func everyTicksOnWholeMultiplesOfItsInterval() throws {
        let every = try CronSchedule("@every 5m")
        #expect(every.latestTick(atOrBefore: 1_000_000_123, lookingBack: 600) == 1_000_000_123 - 1_000_000_123 % 300)
        #expect(every.nextTick(after: 1_000_000_200) == 1_000_000_500, "strictly after")
        #expect(every.nextTick(after: 1_000_000_199) == 1_000_000_200)
        #expect(try CronSchedule("@every 1h30m").nextTick(after: 0) == 5400)
        #expect(try CronSchedule("@every 1s").latestTick(atOrBefore: 42, lookingBack: 0) == 42)
        #expect(try CronSchedule("@every 366d").nextTick(after: 0) == 366 * 86_400, "a year is the longest")
    }

    @Test(arguments: [
        "", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
        "5-1 * * * *", "@every", "@every 0s", "@every 5x", "@fortnightly", "a b c d e",
        // Past a year, or past what an Int holds (they once killed the scheduler, `schedules` and the console).
        "@every 9223372036854775807s", "@every 2562047788015216h", "@every 367d", "@every 366d1s", "@every 99999999999999999999s",
    ])
    func malformedExpressionsAreRefusedSayingWhy(_ text: String) {
        #expect(throws: CronError.self) { try CronSchedule(text) }
    }

    @Test func theErrorNamesTheFieldAndTheValue() {
        #expect(throws: CronError("'0 25 * * *': hour '25' is not in 0-23")) { try CronSchedule("0 25 * * *") }
    }

    /// A day no month asked for has would never fire: refused at once, not searched for.
    @Test func aScheduleThatCanNeverFireIsRefused() throws {
        for never in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30-31 feb *"] {
            #expect { try CronSchedule(never) } throws: { "\($0)".contains("never fires") }
        }
        for rare in ["0 0 29 2 *", "0 0 31 * *", "0 0 30 2 mon"] {
            #expect(throws: Never.self, "\(rare)") { try CronSchedule(rare) }
        }
        #expect(try CronSchedule("0 0 29 2 *").nextTick(after: Self.utc("2026-11-25T00:00:00Z")) == Self.utc("2028-02-29T00:00:00Z"))
    }
}
