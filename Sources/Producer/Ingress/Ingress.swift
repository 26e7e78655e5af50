import Jobs
import Logging
import Queue
import Redis

/// The one way work enters the streams from outside: one atomic step per delivery that sets its
/// dedupe key, checks the queue's high-water mark and adds the job (`Broker.addGuarded`).
///
/// It answers only after Redis did: `accepted` means the job is in the stream. Concurrent
/// requests share the pool's clients, whose commands are pipelined, rather than each holding a
/// connection for a round trip.
///
/// While Redis cannot be reached, a delivery is tried again for up to `redisWait` before it is
/// answered `unavailable` — when that is safe: it has a dedupe key (the step is idempotent under
/// it, and a duplicate of its own earlier attempt is the job it made), or no attempt reached Redis.
///
/// Each job's attempts are fixed here, from the operator's retry budgets for its kind and flow.
public struct Ingress: Sendable {
    let broker: Broker
    let dedupeTTL: Duration
    let highWater: Int
    let redisWait: Duration
    let budgets: RetryBudgets

    public init(broker: Broker, dedupeTTL: Duration, highWater: Int, redisWait: Duration = .zero, budgets: RetryBudgets = .defaults) {
        self.broker = broker
        self.dedupeTTL = dedupeTTL
        self.highWater = highWater
        self.redisWait = redisWait
        self.budgets = budgets
    }

    /// The pause between two tries while Redis is away.
    static let retryPause: Duration = .milliseconds(100)

    public enum Outcome: Sendable, Equatable {
        case accepted(jobID: String)
        case duplicate(jobID: String)
        /// The queue is at its high-water mark: push back, the sender retries later.
        case full(queue: String, length: Int)
        /// Redis could not be reached or did not answer: push back, the sender retries later.
        /// `mayExist` when the enqueue was sent but its answer lost (a timeout, a dropped
        /// connection): Redis may still run it, so nothing the job would reference may be removed,
        /// and the sender's retry finds it by its dedupe key.
        case unavailable(reason: String, mayExist: Bool)
    }

    /// Enqueues `request` as job `id` (a flow's first job is given the id its side jobs already carry).
    public func submit(_ request: JobRequest, dedupe: String?, id: String = JobID.make()) async -> Outcome {
        var request = request
        if let entry = Flows.entry(ofKind: request.kind) {
            request.maxAttempts = budgets.policy(for: request.kind, in: entry).maxAttempts
        }
        let envelope = request.envelope(id: id)
        let deadline = ContinuousClock.now + redisWait
        // Whether a try may have reached Redis: then only a dedupe key makes another one safe, and
        // a refusal at the end must still say that the job may exist.
        var mayExist = false
        while true {
            let outcome = await attempt(envelope, queue: request.queue, dedupe: dedupe)
            if case .duplicate(let jobID) = outcome, jobID == envelope.id {
                // An earlier try of this very delivery reached Redis after all.
                return .accepted(jobID: jobID)
            }
            guard case .unavailable(let reason, let thisMayExist) = outcome else { return outcome }
            mayExist = mayExist || thisMayExist
            let refusal = Outcome.unavailable(reason: reason, mayExist: mayExist)
            guard dedupe != nil || !mayExist, ContinuousClock.now + Self.retryPause < deadline else { return refusal }
            do { try await Task.sleep(for: Self.retryPause) } catch { return refusal }
        }
    }

    private func attempt(_ envelope: Envelope, queue: String, dedupe: String?) async -> Outcome {
        do {
            let seconds = Int(dedupeTTL.components.seconds)
            switch try await broker.addGuarded(envelope, to: queue, dedupeKey: dedupe, ttlSeconds: seconds, highWater: highWater) {
            case .added(let id): return .accepted(jobID: id)
            case .duplicate(let id): return .duplicate(jobID: id)
            case .full(let length): return .full(queue: queue, length: length)
            }
        } catch let error as RedisError {
            if case .connectionLost = error { return .unavailable(reason: "\(error)", mayExist: true) }
            return .unavailable(reason: "\(error)", mayExist: false)
        } catch {
            return .unavailable(reason: "\(error)", mayExist: true)
        }
    }

    /// Ready means Redis answers and takes writes (not a read-only replica, not out of memory).
    public func ready() async -> Bool {
        do {
            let reply = try await broker.pool.send("SET", broker.keys.producerProbe, "1", "PX", "10000")
            return reply.string == "OK"
        } catch {
            return false
        }
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// A short-lived key the producer writes to prove Redis takes writes (`/readyz`).
    public var producerProbe: String { named("producer:ready") }
}
