/// How fast calls to one service may be made across the deployment, and how many may be in
/// flight at once. A `nil` part is not limited.
public struct ServiceLimit: Sendable, Equatable, CustomStringConvertible {
    public var rate: RateLimit?
    public var concurrency: Int?

    public init(rate: RateLimit? = nil, concurrency: Int? = nil) {
        self.rate = rate
        self.concurrency = concurrency
    }

    public var isUnlimited: Bool { rate == nil && concurrency == nil }

    public var description: String {
        let parts = [rate.map(\.description), concurrency.map { "\($0) in flight" }].compactMap { $0 }
        return parts.isEmpty ? "unlimited" : parts.joined(separator: ", ")
    }
}

/// `count` calls per `period`, as a token bucket holds them: up to `count` at once when the bucket
/// is full, refilled at `count` per `period` — the way Groq, Hetzner and most vendors count.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public enum Period: String, Sendable, CaseIterable {
        case second = "s"
        case minute = "min"
        case hour = "h"

        public var duration: Duration {
            switch self {
            case .second: .seconds(1)
            case .minute: .seconds(60)
            case .hour: .seconds(3600)
            }
        }
    }

    public let count: Int
    public let period: Period

    public init(_ count: Int, per period: Period) {
        precondition(count >= 1, "a rate limit allows at least one call")
        self.count = count
        self.period = period
    }

    /// The time one call's token takes to come back, in microseconds (never zero).
    public var intervalMicroseconds: Int64 {
        max(1, period.duration.components.seconds * 1_000_000 / Int64(count))
    }

    public var description: String { "\(count)/\(period.rawValue)" }

    /// The most calls a setting may allow per period: a bigger number is a typo, not a limit.
    public static let largestCount = 1_000_000

    /// `30/min`, `5/s`, `3600/h` (also `sec`, `second`, `m`, `minute`, `hour`); nil when malformed.
    public static func parse(_ text: String) -> RateLimit? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let count = Int(parts[0]), (1...largestCount).contains(count) else { return nil }
        let period: Period
        switch parts[1].lowercased() {
        case "s", "sec", "second": period = .second
        case "m", "min", "minute": period = .minute
        case "h", "hour": period = .hour
        default: return nil
        }
        return RateLimit(count, per: period)
    }
}
