/// How often a kind of job is tried and how long to wait between tries.
///
/// Exponential backoff with full jitter: attempt n waits a uniformly random time in
/// `0 … min(cap, base · 2^(n-1))`, so replicas failing together do not retry together. An upstream's
/// `Retry-After` is the minimum wait. After `maxAttempts` attempts the job is dead-lettered.
///
/// Being held back by a limit costs no attempt, so a bound in time stands in for one: a job still
/// held back `heldBackAtMost` after it was enqueued is dead-lettered, the letter naming the limit,
/// and its kind's after-dead-letter step runs (a guest's conversation goes to a person).
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var base: Duration
    public var cap: Duration
    /// How long after its enqueue a job may still be put back by limits (6 h unless a kind says
    /// otherwise: a guest's stages give up after `ASSISTANT_GIVE_UP_AFTER`).
    public var heldBackAtMost: Duration = .seconds(6 * 3600)

    /// The shortest wait before a held-back job runs again, whatever the service advised
    /// (`Retry-After: 0` from a service that keeps saying 429 would otherwise spin).
    public static let heldBackFloor = Duration.seconds(1)

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

    /// The same policy, giving up on being held back after `bound`.
    public func holdingBack(atMost bound: Duration) -> RetryPolicy {
        var copy = self
        copy.heldBackAtMost = bound
        return copy
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
