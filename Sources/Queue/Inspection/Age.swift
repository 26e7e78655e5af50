/// Ages as operators type them: `90s`, `30m`, `2h`, `7d` (the dead letters' `--since`, the console's filter).
public enum Age {
    public static func milliseconds(_ text: String) -> UInt64? {
        guard let unit = text.last, let value = UInt64(text.dropLast()) else { return nil }
        let scale: UInt64
        switch unit {
        case "s": scale = 1000
        case "m": scale = 60_000
        case "h": scale = 3_600_000
        case "d": scale = 86_400_000
        default: return nil
        }
        let (milliseconds, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : milliseconds
    }
}
