import Queue
import Services

extension JobFailure {
    /// How a job treats a failed call to an external service: the shared HTTP error model carried
    /// over as is — retryable failures keep the upstream's advised delay as the minimum wait,
    /// permanent ones dead-letter at once.
    ///
    /// Being held back is not failing: the deployment's own limit (`.throttled`) and the service's
    /// 429 both put the job back until the advised time without counting an attempt — the 429 has
    /// already paused the service for every replica, so the next try waits for the advised time.
    public init(_ failure: HTTPFailure) {
        switch failure.kind {
        case .throttled, .status(429):
            self = .throttled(failure.description, retryAfter: failure.retryAfter ?? PauseAdvice.unadvised)
        default:
            self = failure.isRetryable ? .retryable(failure.description, retryAfter: failure.retryAfter) : .permanent(failure.description)
        }
    }
}
