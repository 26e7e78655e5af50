import Foundation
import Logging
import Metrics
import Queue
import Redis
import Services

/// The deployment's limits on external services, enforced for every replica on one shared state
/// in Redis (`LimitScripts`), so ten consumers on five nodes together stay under each service's
/// rate and concurrency.
///
/// A call that cannot go now waits in its slot while the wait is short (`maxWait`, per priority);
/// past that it is refused as `.throttled` with the time to come back, and the job engine puts
/// the job back until then without counting an attempt. A 429 (or Groq reporting a quota used up)
/// pauses the service for every replica until the advised time. Calls to a service without limits
/// pass without a round trip to Redis.
///
/// Metrics: `switchboard_service_calls_held_total{service,priority,reason}` (calls held back,
/// by why: `rate`, `concurrency`, `paused`, `priority`), `switchboard_service_wait_seconds{service}`
/// (time calls waited in their slot) and `switchboard_service_pauses_total{service}`.
public final class SharedServiceGate: ServiceGate {
    private let pool: RedisPool
    private let keys: Keys
    public let limits: ServiceLimits
    private let maxWait: @Sendable (CallPriority) -> Duration
    /// The longest a held-back job is put away for: it asks again at least this often, so a
    /// limit raised by a redeploy, or a pause lifted, reaches the jobs already waiting.
    public static let horizon = Duration.seconds(10)
    private let logger: Logger

    /// `maxWait`: the longest a call waits in its slot before its job is put back instead — a
    /// guest's call longer than a background one, since a guest is waiting either way.
    public init(
        pool: RedisPool, keys: Keys, limits: ServiceLimits,
        maxWait: @escaping @Sendable (CallPriority) -> Duration = { $0 == .interactive ? .seconds(2) : .milliseconds(500) },
        logger: Logger
    ) {
        self.pool = pool
        self.keys = keys
        self.limits = limits
        self.maxWait = maxWait
        self.logger = logger
    }

    public func enter(_ service: ExternalService, priority: CallPriority, lease: Duration) async throws -> GatePass {
        let limit = limits[service]
        guard !limit.isUnlimited else { return GatePass(service: service, holder: nil) }
        let holder = limit.concurrency == nil ? nil : UUID().uuidString
        let started = ContinuousClock.now
        var waited = Duration.zero
        while true {
            let decision: LimitDecision
            do {
                decision = try await acquire(service, limit: limit, priority: priority, holder: holder, lease: lease)
            } catch {
                // Without the shared state no replica can know the limit is kept: hold the call.
                throw HTTPFailure(
                    kind: .throttled(service), request: "calls to \(service.rawValue)",
                    detail: "the shared limit state is out of reach: \(error)", retryAfter: .seconds(1))
            }
            guard let wait = decision.wait else {
                if waited > .zero {
                    Timer(
                        label: "switchboard_service_wait_seconds", dimensions: [("service", service.rawValue)],
                        preferredDisplayUnit: .seconds
                    )
                    .recordNanoseconds((ContinuousClock.now - started).nanoseconds)
                }
                return GatePass(service: service, holder: holder, grantedAt: decision.grantedAt)
            }
            Counter(
                label: "switchboard_service_calls_held_total",
                dimensions: [("service", service.rawValue), ("priority", priority.rawValue), ("reason", decision.reason)]
            ).increment()
            if waited + wait > maxWait(priority) {
                throw HTTPFailure(
                    kind: .throttled(service), request: "calls to \(service.rawValue)",
                    detail: "\(decision.reason), limit \(limit)", retryAfter: min(wait, Self.horizon))
            }
            try await Task.sleep(for: wait)
            waited += wait
        }
    }

    public func leave(_ pass: GatePass, response: HTTPClient.Response?) async {
        if let holder = pass.holder {
            _ = try? await LimitScripts.release.run(on: pool.client, keys: [keys.limitInFlight(pass.service.rawValue)], arguments: [holder])
        }
        guard let response, let pause = PauseAdvice.pause(after: response) else { return }
        Counter(label: "switchboard_service_pauses_total", dimensions: [("service", pass.service.rawValue)]).increment()
        do {
            _ = try await LimitScripts.pause.run(
                on: pool.client, keys: [keys.limit(pass.service.rawValue)], arguments: [String(pause.microseconds)])
            logger.notice(
                "service paused for every replica",
                metadata: ["service": "\(pass.service.rawValue)", "status": "\(response.status)", "pause": "\(pause)"])
        } catch {
            logger.warning(
                "could not pause the service for the other replicas",
                metadata: ["service": "\(pass.service.rawValue)", "error": "\(error)"])
        }
    }

    private func acquire(_ service: ExternalService, limit: ServiceLimit, priority: CallPriority, holder: String?, lease: Duration)
        async throws -> LimitDecision
    {
        let reply = try await LimitScripts.acquire.run(
            on: pool.client, keys: [keys.limit(service.rawValue), keys.limitInFlight(service.rawValue)],
            arguments: [
                String(limit.rate?.intervalMicroseconds ?? 0), String(limit.rate?.count ?? 0), String(limit.concurrency ?? 0),
                String(lease.microseconds), holder ?? "", priority.rawValue, String(Self.horizon.microseconds), limit.description,
            ])
        return LimitDecision(reply)
    }
}

/// One answer of the acquire script: go now (`wait` nil, `grantedAt` Redis's time), or wait this
/// long, and why.
struct LimitDecision: Sendable {
    var wait: Duration?
    var reason: String
    var grantedAt: Int64?

    init(_ reply: RedisValue) {
        let parts = reply.array ?? []
        let granted = parts.first?.integer == 1
        reason = parts.count > 2 ? parts[2].string ?? "rate" : "rate"
        guard !granted else {
            wait = nil
            grantedAt = parts.count > 3 ? parts[3].integer.map(Int64.init) : nil
            return
        }
        if reason == "concurrency" {
            // No one knows when a call in flight ends: look again soon, at a jittered moment.
            wait = .milliseconds(Int.random(in: 20...80))
        } else {
            wait = .microseconds(max(parts.count > 1 ? parts[1].integer ?? 1000 : 1000, 1))
        }
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// A service's shared limit state (a hash: its token bucket's next free time, a pause from a
    /// 429, the priority hold, counts of calls held back).
    public func limit(_ service: String) -> String { named("limit:\(service)") }
    /// A service's calls in flight across the deployment: holder → lease expiry (a sorted set).
    public func limitInFlight(_ service: String) -> String { named("limit:\(service):inflight") }
}
