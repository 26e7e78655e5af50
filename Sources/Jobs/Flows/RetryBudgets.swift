import Foundation
import Queue
import Services

/// The retry budgets as the operator set them — per flow (`RETRY_CHAT`) or per kind
/// (`RETRY_CHAT_GENERATE` for `chat.generate`), `attempts/base/cap` with durations in `ms`, `s`, `m`
/// or `h` (`4/2s/20s`) — read once by the command that starts a role and handed down: a library
/// never reads the process environment for them, so a test sets them by value.
public struct RetryBudgets: Sendable, Equatable {
    /// `RETRY_<FLOW>` → its budget.
    var flows: [String: RetryPolicy]
    /// kind → its own budget.
    var kinds: [String: RetryPolicy]

    public static let names = ["RETRY_CHAT", "RETRY_VOICE", "RETRY_CALL", "RETRY_BOOKING"]

    /// No setting: every flow's default.
    public static let defaults = RetryBudgets(flows: [:], kinds: [:])

    init(flows: [String: RetryPolicy], kinds: [String: RetryPolicy]) {
        self.flows = flows
        self.kinds = kinds
    }

    /// The budgets `environment` sets; a malformed one is refused naming its variable.
    public init(environment: [String: String]) throws {
        var flows: [String: RetryPolicy] = [:]
        var kinds: [String: RetryPolicy] = [:]
        for (name, text) in environment where name.hasPrefix("RETRY_") && !text.isEmpty {
            guard let policy = Self.parse(text) else {
                throw ConfigurationError("\(name) '\(text)' is not attempts/base/cap, e.g. 4/2s/20s")
            }
            if Self.names.contains(name) {
                flows[name] = policy
            } else {
                kinds[name.dropFirst("RETRY_".count).lowercased().replacingOccurrences(of: "_", with: ".")] = policy
            }
        }
        self.init(flows: flows, kinds: kinds)
    }

    /// The budget of a `kind` job of the flow `entry` starts (nil: of no flow), else `fallback`:
    /// the kind's own setting, else the flow's, else the flow's default.
    public func policy(for kind: String, in entry: FlowEntry?, default fallback: RetryPolicy? = nil) -> RetryPolicy {
        kinds[kind] ?? entry.flatMap { flows[$0.setting] } ?? fallback ?? entry?.retry ?? .once
    }

    /// `4/2s/20s` → 4 attempts, waits from 2 s growing to at most 20 s.
    public static func parse(_ text: String) -> RetryPolicy? {
        let parts = text.split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 3, let attempts = Int(parts[0]), attempts >= 1,
            let base = duration(parts[1]), let cap = duration(parts[2]), base > .zero, cap >= base
        else { return nil }
        return RetryPolicy(maxAttempts: attempts, base: base, cap: cap)
    }

    static func duration(_ text: String) -> Duration? {
        for (suffix, milliseconds) in [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)] where text.hasSuffix(suffix) {
            // At most a year: a larger (or infinite) number is a typo, never a wait.
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value * Double(milliseconds) <= 365 * 86_400_000 else {
                return nil
            }
            return .milliseconds(Int64(value * Double(milliseconds)))
        }
        return nil
    }
}
