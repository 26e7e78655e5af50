/// What a handler throws to say how its failure should be treated. Any other error a handler
/// throws counts as `retryable`.
public enum JobFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Retrying cannot help (a 4xx that is not 408/429, an invalid payload): dead-letter at once.
    case permanent(String)
    /// Worth another attempt, no earlier than `retryAfter` when the upstream said so.
    case retryable(String, retryAfter: Duration? = nil)
    /// Not a failure: a limit held the job back (the deployment's own, or the service's 429). It
    /// is put back to run again after `retryAfter`, with no attempt counted and nothing added to
    /// its history — a job throttled a hundred times keeps its whole budget for real failures.
    case throttled(String, retryAfter: Duration)

    public var description: String {
        switch self {
        case .permanent(let message): message
        case .retryable(let message, _): message
        case .throttled(let message, _): message
        }
    }
}
