import Foundation

/// What an answer says about calling its service again soon, read the same way for every service:
/// a 429 pauses the service until the advised time (`Retry-After`, Hetzner's `RateLimit-Reset`,
/// or Groq's `x-ratelimit-reset-*` for the quota that ran out), one second when it advises none or less;
/// any other answer that reports a quota used up (Groq's `x-ratelimit-remaining-requests: 0` or
/// `x-ratelimit-remaining-tokens: 0`, Hetzner's `RateLimit-Remaining: 0`) pauses it until that
/// quota's reset, before a 429 says so.
public enum PauseAdvice {
    /// The pause after a 429 that gives no advice.
    public static let unadvised = Duration.seconds(1)

    /// How long every caller should leave the service alone after `response`; nil: no need to.
    public static func pause(after response: HTTPClient.Response, now: Date = Date()) -> Duration? {
        let exhausted = exhaustedQuotaReset(response, now: now)
        if response.status == 429 {
            // `Retry-After: 0` is no advice to come straight back: a service that keeps answering
            // 429 is left alone for at least the unadvised second.
            return max(RetryAdvice.delay(in: response, now: now) ?? exhausted ?? unadvised, unadvised)
        }
        return exhausted
    }

    /// The longest reset among the quotas that report nothing remaining: Groq's requests and
    /// tokens (resets as durations) and Hetzner's one (its reset a Unix time).
    static func exhaustedQuotaReset(_ response: HTTPClient.Response, now: Date) -> Duration? {
        let quotas: [(remaining: String, reset: String, read: (String) -> Duration?)] = [
            ("x-ratelimit-remaining-requests", "x-ratelimit-reset-requests", quotaDuration),
            ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens", quotaDuration),
            ("ratelimit-remaining", "ratelimit-reset", { RetryAdvice.resetDelay($0, now: now) }),
        ]
        return quotas.compactMap { quota in
            guard response.header(quota.remaining)?.trimmingCharacters(in: .whitespaces) == "0" else { return nil }
            return response.header(quota.reset).flatMap(quota.read)
        }.max()
    }

    /// Groq's reset values: `2m59.56s`, `7.66s`, `1h2m`, `120ms`; bounded like any advised delay.
    static func quotaDuration(_ text: String) -> Duration? {
        var seconds = 0.0
        var number = ""
        var found = false
        var characters = Array(text.trimmingCharacters(in: .whitespaces))[...]
        while let character = characters.first {
            if character.isNumber || character == "." {
                number.append(character)
                characters = characters.dropFirst()
                continue
            }
            guard let value = Double(number) else { return nil }
            let unit: Double
            if characters.starts(with: "ms") {
                unit = 0.001
                characters = characters.dropFirst(2)
            } else {
                switch character {
                case "h": unit = 3600
                case "m": unit = 60
                case "s": unit = 1
                default: return nil
                }
                characters = characters.dropFirst()
            }
            seconds += value * unit
            number = ""
            found = true
        }
        guard found, number.isEmpty else { return nil }
        return RetryAdvice.advisedDelay(seconds)
    }
}
