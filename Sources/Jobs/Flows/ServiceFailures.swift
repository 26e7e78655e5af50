import Queue
import Services

extension JobFailure {
    /// How a job treats a failed call to an external service: the shared HTTP error model carried
    /// over as is — retryable failures keep the upstream's advised delay as the minimum wait,
    /// permanent ones dead-letter at once.
    public init(_ failure: HTTPFailure) {
        self = failure.isRetryable ? .retryable(failure.description, retryAfter: failure.retryAfter) : .permanent(failure.description)
    }
}
