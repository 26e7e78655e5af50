/// How often a kind of job is tried and how long to wait between tries.
///
/// Exponential backoff with full jitter: attempt n waits a uniformly random time in
/// `0 … min(cap, base · 2^(n-1))`, so replicas failing together do not retry together. An upstream's
/// `Retry-After` is the minimum wait. After `maxAttempts` attempts the job is dead-lettered.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var base: Duration
    public var cap: Duration

    public init(maxAttempts: Int, base: Duration = .seconds(1), cap: Duration = .seconds(300)) {
        precondition(maxAttempts >= 1, "a job is tried at least once")
        self.maxAttempts = maxAttempts
        self.base = base
        self.cap = cap
    }

    /// `exponentialJitter(maxAttempts: 5)`: the default for background work.
    public static func exponentialJitter(maxAttempts: Int, base: Duration = .seconds(1), cap: Duration = .seconds(300)) -> RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, base: base, cap: cap)
    }

    /// Never retried: the first failure dead-letters.
    public static let once = RetryPolicy(maxAttempts: 1)

    /// The upper bound of the jittered wait after failed attempt `attempt` (1-based).
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let grown = base * Double(1 << exponent)
        return grown < cap ? grown : cap
    }

    /// The wait before the attempt after `attempt`: full jitter under the ceiling, at least `retryAfter`.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil, random: Double = Double.random(in: 0...1)) -> Duration {
        let jittered = ceiling(afterAttempt: attempt) * random
        guard let retryAfter, retryAfter > jittered else { return jittered }
        return retryAfter
    }
}
