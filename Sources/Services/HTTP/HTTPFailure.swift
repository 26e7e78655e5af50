import Foundation

/// The one error model every service client shares, so every job handler decides the same way
/// whether to retry: transport errors (refused, reset, timed out) and 408, 429 and 5xx answers are
/// retryable; any other 4xx is permanent, since sending the same request again cannot fix it. An
/// upstream's advice on when to come back — `Retry-After` in seconds or as an HTTP date (Azure,
/// Groq's `retry-after`), Hetzner's `RateLimit-Reset` (a Unix time) — rides along as the minimum delay.
public struct HTTPFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No answer: connection refused or reset, DNS, TLS, or the request's timeout.
        case transport
        /// An answer with a status other than 2xx.
        case status(Int)
        /// The answer was larger than the request allowed.
        case responseTooLarge(limit: Int)
        /// The request's task was cancelled while it ran.
        case cancelled
        /// A 2xx answer that does not match the service's contract.
        case unexpectedAnswer
        /// A URL (or a redirect) to anything but http or https: never fetched, never retried.
        case refusedURL
        /// Not sent: the deployment's limit for the service holds it back until `retryAfter`.
        /// Not a failure of the call — nothing was asked of the service.
        case throttled(ExternalService)
    }

    public let kind: Kind
    /// What was asked (method and URL without its query), for the log and the dead letter.
    public let request: String
    public let detail: String
    /// The upstream's advised minimum wait, if it gave one.
    public let retryAfter: Duration?
    /// The answer's status and headers (not its body), when there was an answer.
    public let response: HTTPClient.Response?

    public init(kind: Kind, request: String, detail: String, retryAfter: Duration? = nil, response: HTTPClient.Response? = nil) {
        self.response = response
        self.kind = kind
        self.request = request
        self.detail = detail
        self.retryAfter = retryAfter
    }

    public var isRetryable: Bool {
        switch kind {
        case .transport, .cancelled, .throttled: true
        case .status(let status): status == 408 || status == 429 || status >= 500
        case .responseTooLarge, .unexpectedAnswer, .refusedURL: false
        }
    }

    public var status: Int? {
        if case .status(let status) = kind { return status }
        return nil
    }

    public var description: String {
        switch kind {
        case .transport: "\(request) failed: \(detail)"
        case .status(let status): "\(request) answered \(status)" + (detail.isEmpty ? "" : ": \(detail)")
        case .responseTooLarge(let limit): "\(request) answered with more than \(limit) bytes"
        case .cancelled: "\(request) was cancelled"
        case .unexpectedAnswer: "\(request) answered something unexpected: \(detail)"
        case .refusedURL: "\(request) refused: only http and https URLs are fetched" + (detail.isEmpty ? "" : " (\(detail))")
        case .throttled(let service): "\(request) held back by the \(service.rawValue) limit" + (detail.isEmpty ? "" : " (\(detail))")
        }
    }

    /// The failure a non-2xx response means, with its advised delay and the start of its body.
    public static func from(_ response: HTTPClient.Response, request: String, now: Date = Date()) -> HTTPFailure {
        let snippet = String(response.text.prefix(300)).replacingOccurrences(of: "\n", with: " ")
        return HTTPFailure(
            kind: .status(response.status), request: request, detail: snippet, retryAfter: RetryAdvice.delay(in: response, now: now),
            response: HTTPClient.Response(status: response.status, headers: response.headers, body: []))
    }
}

/// Reading an upstream's advice on when to try again.
public enum RetryAdvice {
    /// The longest wait an upstream can ask for: a service that advises a day (or sends a number
    /// no clock could reach) is tried again within the hour.
    public static let longestAdvisedDelay = Duration.seconds(3600)

    /// An advised wait in seconds as a delay: negative is now, not a number is nothing, anything
    /// past `longestAdvisedDelay` is that — never a trap, whatever the header held.
    static func advisedDelay(_ seconds: Double) -> Duration? {
        guard !seconds.isNaN else { return nil }
        let bounded = min(max(seconds, 0), Double(longestAdvisedDelay.components.seconds))
        return .milliseconds(Int64(bounded * 1000))
    }

    /// `Retry-After` (seconds, possibly fractional, or an HTTP date) or `RateLimit-Reset` (a Unix
    /// time in seconds); nil when the response gives neither.
    public static func delay(in response: HTTPClient.Response, now: Date = Date()) -> Duration? {
        if let value = response.header("retry-after")?.trimmingCharacters(in: .whitespaces) {
            if let seconds = Double(value) { return advisedDelay(seconds) }
            if let date = httpDate(value) { return advisedDelay(date.timeIntervalSince(now)) }
        }
        return response.header("ratelimit-reset").flatMap { resetDelay($0, now: now) }
    }

    /// `RateLimit-Reset` as a wait: a Unix time (Hetzner), or a small number of seconds from now
    /// (the IETF draft).
    static func resetDelay(_ value: String, now: Date) -> Duration? {
        guard let reset = Double(value.trimmingCharacters(in: .whitespaces)) else { return nil }
        return advisedDelay(reset > 1_000_000_000 ? reset - now.timeIntervalSince1970 : reset)
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
