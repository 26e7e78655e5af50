/// What a handler throws to say how its failure should be treated. Any other error a handler
/// throws counts as `retryable`.
public enum JobFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Retrying cannot help (a 4xx that is not 408/429, an invalid payload): dead-letter at once.
    case permanent(String)
    /// Worth another attempt, no earlier than `retryAfter` when the upstream said so.
    case retryable(String, retryAfter: Duration? = nil)

    public var description: String {
        switch self {
        case .permanent(let message): message
        case .retryable(let message, _): message
        }
    }
}
