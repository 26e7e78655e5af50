import Foundation

/// Dates as the flows write them for people and compare them with Guesty's: always in UTC, so a
/// note or a stay's phase does not depend on where a replica happens to run.
enum UTCTime {
    /// `2026-11-26`.
    static func day(_ date: Date) -> String {
        let p = parts(date)
        return String(format: "%04d-%02d-%02d", p.year ?? 0, p.month ?? 0, p.day ?? 0)
    }

    /// `2026-11-26 09:05`.
    static func minute(_ date: Date) -> String {
        let p = parts(date)
        return day(date) + String(format: " %02d:%02d", p.hour ?? 0, p.minute ?? 0)
    }

    private static func parts(_ date: Date) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
    }
}
