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
        case fields(minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>, anyDay: Bool, anyWeekday: Bool, anyHour: Bool)
    }

    public init(_ text: String, timeZone: TimeZone = TimeZone(identifier: "UTC")!) throws {
        let expression = text.trimmingCharacters(in: .whitespaces)
        description = expression
        self.timeZone = timeZone
        let aliases = ["@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
                       "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"]
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
            throw CronError("'\(text)': expected five fields (minute hour day-of-month month day-of-week) or @every/@hourly/@daily/@weekly/@monthly")
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
            throw CronError("'\(text)': never fires: no month asked for has day \(monthDays.sorted().map(String.init).joined(separator: ","))")
        }
        kind = .fields(minutes: minutes, hours: hours, days: monthDays, months: monthSet, weekdays: weekdays,
                       anyDay: fields[2] == "*", anyWeekday: fields[4] == "*", anyHour: hours.count == 24)
    }

    /// The latest tick at or before `time` (Unix seconds), looking back at most `limit` seconds.
    public func latestTick(atOrBefore time: Int, lookingBack limit: Int) -> Int? {
        switch kind {
        case .every(let seconds):
            let tick = time - ((time % seconds) + seconds) % seconds
            return time - tick <= limit ? tick : nil
        case .fields:
            var minute = time - ((time % 60) + 60) % 60
            while time - minute <= limit {
                if matches(minute: minute) { return minute }
                minute -= 60
            }
            return nil
        }
    }

    /// The first tick after `time` (Unix seconds), searching at most about five years ahead.
    public func nextTick(after time: Int) -> Int? {
        switch kind {
        case .every(let seconds):
            return time - ((time % seconds) + seconds) % seconds + seconds
        case .fields:
            var minute = time - ((time % 60) + 60) % 60 + 60
            let end = time + 5 * 366 * 86_400
            while minute <= end {
                if matches(minute: minute) { return minute }
                minute += 60
            }
            return nil
        }
    }

    /// The zone's offset from UTC at `time`, in seconds.
    private func offset(_ time: Int) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(time)))
    }

    /// Whether the absolute minute `time` is a tick: its wall-clock time matches (unless that time
    /// of day already happened, the clock having fallen back), or it ends a spring-forward gap in
    /// which a matching time of day was skipped.
    private func matches(minute time: Int) -> Bool {
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
        guard case .fields(let minutes, let hours, let days, let months, let weekdays, let anyDay, let anyWeekday, _) = kind else { return false }
        let parts = UTCTime.calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: Date(timeIntervalSince1970: TimeInterval(wall)))
        guard let minute = parts.minute, let hour = parts.hour, let day = parts.day, let month = parts.month, let weekday = parts.weekday else {
            return false
        }
        guard minutes.contains(minute), hours.contains(hour), months.contains(month) else { return false }
        let dayMatches = days.contains(day)
        let weekdayMatches = weekdays.contains(weekday - 1)
        // Cron's rule: with both day fields restricted, either may match; otherwise the restricted one must.
        switch (anyDay, anyWeekday) {
        case (true, true): return true
        case (true, false): return weekdayMatches
        case (false, true): return dayMatches
        case (false, false): return dayMatches || weekdayMatches
        }
    }

    private static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String], nameBase: Int = 0,
                              text expression: String) throws -> Set<Int> {
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
                guard let parsed = Int(pieces[1]), parsed >= 1 else { throw CronError("'\(expression)': bad step '\(pieces[1])' in the \(name) field") }
                step = parsed
            }
            let base = pieces[0]
            let bounds: ClosedRange<Int>
            if base == "*" {
                bounds = range
            } else if let dash = base.firstIndex(of: "-") {
                let low = try value(base[..<dash]), high = try value(base[base.index(after: dash)...])
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
        var total = 0, number = ""
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
