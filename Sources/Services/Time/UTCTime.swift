import Foundation

/// Dates as Switchboard writes and reads them: always in UTC, so a note, a stay's phase, a blob's
/// folder, a signature or a cron tick does not depend on where a replica happens to run. One
/// calendar, made once.
public enum UTCTime {
    /// The Gregorian calendar in UTC.
    public static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// `2026-11-26` (or `2026/11/26` with `separator: "/"`).
    public static func day(_ date: Date, separator: String = "-") -> String {
        let p = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d\(separator)%02d\(separator)%02d", p.year ?? 0, p.month ?? 0, p.day ?? 0)
    }

    /// `2026-11-26 09:05`.
    public static func minute(_ date: Date) -> String {
        let p = calendar.dateComponents([.hour, .minute], from: date)
        return day(date) + String(format: " %02d:%02d", p.hour ?? 0, p.minute ?? 0)
    }

    /// `20261126T090500Z`, ISO 8601's basic form (as SigV4 signs it).
    public static func basicTimestamp(_ date: Date) -> String {
        let p = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", p.year ?? 0, p.month ?? 0, p.day ?? 0, p.hour ?? 0, p.minute ?? 0, p.second ?? 0)
    }
}
