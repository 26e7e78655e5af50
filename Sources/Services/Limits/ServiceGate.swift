/// What stands between a caller and an external service: asked before each call to a named
/// service, told how each call ended. The HTTP client consults it for every request that names
/// its service; a request that names none (an audio file at a webhook's URL) is not limited.
///
/// `enter` either lets the call through, possibly after a short wait, or throws an `HTTPFailure`
/// of kind `.throttled` whose `retryAfter` says when to come back — throttling is not a failure of
/// the call, and the job engine does not count it as an attempt.
public protocol ServiceGate: Sendable {
    func enter(_ service: ExternalService, priority: CallPriority, lease: Duration) async throws -> GatePass
    /// Called once per pass when the call is over: with its response, or nil when there was none.
    func leave(_ pass: GatePass, response: HTTPClient.Response?) async
}

/// A call let through: which service, and the lease it holds on a concurrency slot (if any).
public struct GatePass: Sendable {
    public let service: ExternalService
    /// The holder's name in the service's in-flight set, when its concurrency is limited.
    public let holder: String?
    /// When the limit let the call through, in microseconds of the limit's own clock (Redis's);
    /// nil when the service is not limited.
    public let grantedAt: Int64?

    public init(service: ExternalService, holder: String?, grantedAt: Int64? = nil) {
        self.service = service
        self.holder = holder
        self.grantedAt = grantedAt
    }
}

/// Whose call this is. A guest waiting for an answer (`interactive`) goes before work nobody is
/// waiting on (`background`: indexing a call or a booking, backups): while interactive calls to a
/// service are being held back, background ones get no token, and background calls never take the
/// last quarter of a service's burst. Set by the job engine for the job it runs; calls made
/// outside a job count as interactive.
public enum CallPriority: String, Sendable {
    case interactive
    case background

    @TaskLocal public static var current: CallPriority = .interactive
}
