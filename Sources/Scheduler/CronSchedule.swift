import Foundation
import Services

/// When a scheduled job is due: a five-field cron expression (`minute hour day-of-month month
/// day-of-week`, with `*`, lists, ranges and `/` steps, month and day names, and
/// `@hourly`/`@daily`/`@weekly`/`@monthly`) read on the wall clock of a time zone (UTC unless
/// given), or `@every <duration>` (`@every 30s`, `@every 5m`, `@every 1h`: ticks at whole multiples
/// of the interval since the Unix epoch, whatever the zone).
///
/// Where the zone's clock jumps, a time of day the expression names happens once, as people expect:
/// one that the spring-forward gap skips fires at the first minute after the gap; one that the
/// fall-back hour repeats fires at its first occurrence only. (An expression for every hour — `*` in
/// the hour field — keeps running through the repeated hour, as cron does.)
///
/// Ticks are whole seconds since the epoch; the same expression gives every replica the same ticks,
/// which is what lets the scheduler fire each tick once, whoever fires it.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public let timeZone: TimeZone
    private let kind: Kind

    /// The zone's name as an operator writes it (Foundation calls UTC "GMT").
    public var zoneName: String { timeZone.identifier == "GMT" ? "UTC" : timeZone.identifier }

    private enum Kind: Sendable, Equatable {
        case every(seconds: Int)
        case fields(
            minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>, anyDay: Bool, anyWeekday: Bool,
            anyHour: Bool)
    }

    public init(_ text: String, timeZone: TimeZone = TimeZone(identifier: "UTC")!) throws {
        let expression = text.trimmingCharacters(in: .whitespaces)
        description = expression
        self.timeZone = timeZone
        let aliases = [
            "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
            "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
        ]
        if expression.hasPrefix("@every ") {
            let interval = String(expression.dropFirst("@every ".count)).trimmingCharacters(in: .whitespaces)
            guard let seconds = Self.seconds(interval), seconds >= 1 else {
                throw CronError("'\(text)': @every takes a duration such as 30s, 5m, 1h or 1h30m, at most 366d")
            }
            kind = .every(seconds: seconds)
            return
        }
        let fields = (aliases[expression] ?? expression).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else {
            throw CronError(
                "'\(text)': expected five fields (minute hour day-of-month month day-of-week) or @every/@hourly/@daily/@weekly/@monthly")
        }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        let days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        let minutes = try Self.field(fields[0], "minute", 0...59, names: [], text: text)
        let hours = try Self.field(fields[1], "hour", 0...23, names: [], text: text)
        let monthDays = try Self.field(fields[2], "day of month", 1...31, names: [], text: text)
        let monthSet = try Self.field(fields[3], "month", 1...12, names: months, nameBase: 1, text: text)
        // 7 is Sunday too, as in most crons.
        let weekdays = Set(try Self.field(fields[4], "day of week", 0...7, names: days, text: text).map { $0 % 7 })
        // A day of the month that no month asked for has (`0 0 30 2 *`) would never fire: refused
        // here rather than searched for, minute by minute, five years ahead on every look.
        let longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        if fields[2] != "*" && fields[4] == "*", !monthSet.contains(where: { month in monthDays.contains { $0 <= longest[month - 1] } }) {
            throw CronError(
                "'\(text)': never fires: no month asked for has day \(monthDays.sorted().map(String.init).joined(separator: ","))")
        }
        kind = .fields(
            minutes: minutes, hours: hours, days: monthDays, months: monthSet, weekdays: weekdays,
            anyDay: fields[2] == "*", anyWeekday: fields[4] == "*", anyHour: hours.count == 24)
    }

    /// The latest tick at or before `time` (Unix seconds), looking back at most `limit` seconds.
    public func latestTick(atOrBefore time: Int, lookingBack limit: Int) -> Int? {
        latestTickSearch(atOrBefore: time, lookingBack: limit).tick
    }

    /// The first tick after `time` (Unix seconds), searching at most about five years ahead.
    public func nextTick(after time: Int) -> Int? {
        nextTickSearch(after: time).tick
    }

    /// `latestTick`, with how many absolute minutes the search looked at.
    func latestTickSearch(atOrBefore time: Int, lookingBack limit: Int) -> (tick: Int?, looks: Int) {
        switch kind {
        case .every(let seconds):
            let tick = time - ((time % seconds) + seconds) % seconds
            return (time - tick <= limit ? tick : nil, 1)
        case .fields:
            var minute = time - ((time % 60) + 60) % 60
            var looks = 0
            while time - minute <= limit {
                looks += 1
                if isTick(minute) { return (minute, looks) }
                minute -= stepBack(from: minute)
            }
            return (nil, looks)
        }
    }

    /// `nextTick`, with how many absolute minutes the search looked at.
    func nextTickSearch(after time: Int) -> (tick: Int?, looks: Int) {
        switch kind {
        case .every(let seconds):
            return (time - ((time % seconds) + seconds) % seconds + seconds, 1)
        case .fields:
            var minute = time - ((time % 60) + 60) % 60 + 60
            var looks = 0
            let end = time + 5 * 366 * 86_400
            while minute <= end {
                looks += 1
                if isTick(minute) { return (minute, looks) }
                minute += stepForward(from: minute, until: end)
            }
            return (nil, looks)
        }
    }

    /// How far a clock's offset may move between two absolute minutes a search jumps across (a
    /// daylight-saving change is at most two hours). The minutes within it of a matching wall time
    /// are still looked at one by one, so the jumps never step over a tick, gaps and repeats included.
    private static let offsetMargin = 3 * 3600

    /// Seconds from the absolute minute `time` (not a tick) to the next one worth looking at: no wall
    /// time between them, whatever the offset does within the margin, matches the fields. A search
    /// for a yearly tick so costs a few hundred looks, not half a million.
    private func stepForward(from time: Int, until end: Int) -> Int {
        let here = offset(time)
        let wall = time + here
        guard let next = nextWallMatch(atOrAfter: wall - Self.offsetMargin, through: wall + (end - time) + Self.offsetMargin),
            next - wall > Self.offsetMargin
        else { return 60 }
        let jump = next - wall - Self.offsetMargin
        let landing = time + jump - jump % 60
        return abs(offset(landing) - here) <= Self.offsetMargin ? max(60, landing - time) : 60
    }

    /// The same as `stepForward`, looking back.
    private func stepBack(from time: Int) -> Int {
        let here = offset(time)
        let wall = time + here
        guard let previous = previousWallMatch(atOrBefore: wall + Self.offsetMargin),
            wall - previous > Self.offsetMargin
        else { return 60 }
        let jump = wall - previous - Self.offsetMargin
        let landing = time - jump + jump % 60
        return abs(offset(landing) - here) <= Self.offsetMargin ? max(60, time - landing) : 60
    }

    /// The first wall minute (naive seconds) at or after `start` that the fields match, or nil if
    /// none up to `limit`: a day at a time, the day's minutes only when the day matches.
    private func nextWallMatch(atOrAfter start: Int, through limit: Int) -> Int? {
        let first = start + ((60 - ((start % 60) + 60) % 60) % 60)
        var day = Self.floorDivide(first, 86_400)
        var fromMinute = (first - day * 86_400) / 60
        while day * 86_400 <= limit {
            if let minute = matchingMinute(onDay: day, from: fromMinute, forward: true) {
                let wall = day * 86_400 + minute * 60
                return wall <= limit ? wall : nil
            }
            day += 1
            fromMinute = 0
        }
        return nil
    }

    /// The last wall minute at or before `start` that the fields match, looking back at most about
    /// five years.
    private func previousWallMatch(atOrBefore start: Int) -> Int? {
        let last = start - ((start % 60) + 60) % 60
        var day = Self.floorDivide(last, 86_400)
        var fromMinute = (last - day * 86_400) / 60
        for _ in 0...(5 * 366) {
            if let minute = matchingMinute(onDay: day, from: fromMinute, forward: false) { return day * 86_400 + minute * 60 }
            day -= 1
            fromMinute = 1439
        }
        return nil
    }

    /// The first (or, looking back, last) minute of the day, from `from` on, that the fields match.
    private func matchingMinute(onDay day: Int, from: Int, forward: Bool) -> Int? {
        guard case .fields(let minutes, let hours, _, _, _, _, _, _) = kind, dayMatches(day) else { return nil }
        for minuteOfDay in forward ? Array(from...1439) : Array((0...from).reversed())
        where hours.contains(minuteOfDay / 60) && minutes.contains(minuteOfDay % 60) {
            return minuteOfDay
        }
        return nil
    }

    private static func floorDivide(_ value: Int, _ divisor: Int) -> Int {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }

    /// The zone's offset from UTC at `time`, in seconds.
    private func offset(_ time: Int) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(time)))
    }

    /// Whether the absolute minute `time` is a tick: its wall-clock time matches (unless that time
    /// of day already happened, the clock having fallen back), or it ends a spring-forward gap in
    /// which a matching time of day was skipped.
    func isTick(_ time: Int) -> Bool {
        guard case .fields(_, _, _, _, _, _, _, let anyHour) = kind else { return false }
        let here = offset(time)
        if matches(wall: time + here) {
            if anyHour { return true }
            // Fallen back within the last hours: the same wall time was already lived through.
            let before = offset(time - 3 * 3600)
            if before > here {
                let earlier = time - (before - here)
                if earlier + offset(earlier) == time + here { return false }
            }
            return true
        }
        let previous = offset(time - 60)
        guard here > previous else { return false }
        // The clock jumped forward at `time`: the wall minutes it skipped fire here.
        var skipped = time - 60 + previous + 60
        while skipped < time + here {
            if matches(wall: skipped) { return true }
            skipped += 60
        }
        return false
    }

    /// Whether the fields match a wall-clock minute given as naive seconds (the zone's offset
    /// added, then read as UTC).
    private func matches(wall: Int) -> Bool {
        guard case .fields(let minutes, let hours, _, _, _, _, _, _) = kind else { return false }
        let day = Self.floorDivide(wall, 86_400)
        let minuteOfDay = (wall - day * 86_400) / 60
        return minutes.contains(minuteOfDay % 60) && hours.contains(minuteOfDay / 60) && dayMatches(day)
    }

    /// Whether the month and day fields match the civil day `day` (days since 1970-01-01).
    private func dayMatches(_ day: Int) -> Bool {
        guard case .fields(_, _, let days, let months, let weekdays, let anyDay, let anyWeekday, _) = kind else { return false }
        let date = Self.civilDate(day)
        guard months.contains(date.month) else { return false }
        let dayMatches = days.contains(date.day)
        let weekdayMatches = weekdays.contains(((day % 7) + 7 + 4) % 7)  // 1970-01-01 was a Thursday
        // Cron's rule: with both day fields restricted, either may match; otherwise the restricted one must.
        switch (anyDay, anyWeekday) {
        case (true, true): return true
        case (true, false): return weekdayMatches
        case (false, true): return dayMatches
        case (false, false): return dayMatches || weekdayMatches
        }
    }

    /// The proleptic Gregorian month and day of a count of days since 1970-01-01.
    static func civilDate(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468  // days since 0000-03-01
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func field(
        _ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String], nameBase: Int = 0,
        text expression: String
    ) throws -> Set<Int> {
        func value(_ token: Substring) throws -> Int {
            if let number = Int(token), range.contains(number) { return number }
            if let index = names.firstIndex(of: token.lowercased()) { return index + nameBase }
            throw CronError("'\(expression)': \(name) '\(token)' is not in \(range.lowerBound)-\(range.upperBound)")
        }
        var result: Set<Int> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed >= 1 else {
                    throw CronError("'\(expression)': bad step '\(pieces[1])' in the \(name) field")
                }
                step = parsed
            }
            let base = pieces[0]
            let bounds: ClosedRange<Int>
            if base == "*" {
                bounds = range
            } else if let dash = base.firstIndex(of: "-") {
                let low = try value(base[..<dash])
                let high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw CronError("'\(expression)': range '\(base)' in the \(name) field runs backwards") }
                bounds = low...high
            } else {
                let single = try value(base)
                bounds = single...(pieces.count == 2 ? range.upperBound : single)
            }
            result.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return result
    }

    /// The longest `@every`: a year (and a leap day). Longer ones are refused where they are read,
    /// so no tick arithmetic on them can overflow in the scheduler, `schedules` or the console.
    static let longestInterval = 366 * 86_400

    /// `90s`, `5m`, `1h30m`, `2h` → seconds; nil past `longestInterval`.
    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var total = 0
        var number = ""
        for character in text {
            if character.isASCII && character.isNumber {
                number.append(character)
            } else if let unit = units[character], let value = Int(number), value <= longestInterval {
                total += value * unit
                guard total <= longestInterval else { return nil }
                number = ""
            } else {
                return nil
            }
        }
        return number.isEmpty && total > 0 ? total : nil
    }
}

/// A schedule that cannot be understood, saying which part and why.
public struct CronError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
