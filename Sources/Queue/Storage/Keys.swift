/// The engine's Redis keys — the queues' streams, retries, dead letters, histories, markers and
/// registries — and the one way every feature names its own (`named`).
///
/// All keys of one deployment share the hash tag `{prefix}`, so every multi-key script stays valid
/// on Redis Cluster. Chatwoot's own keys (Sidekiq's `queue:*`, `retry`, `schedule`, `dead`) never
/// match this pattern.
public struct Keys: Sendable, Equatable {
    /// The deployment's key prefix, default `switchboard`.
    public let prefix: String
    /// The consumer group every queue's stream is read by.
    public static let group = "workers"

    public init(prefix: String = "switchboard") {
        self.prefix = prefix
    }

    var tag: String { "{\(prefix)}" }

    /// A key of this deployment for a feature's own state, `{prefix}:<suffix>`: each feature names
    /// its keys beside its code with this, under the deployment's hash tag (docs/design.md lists
    /// them all). The engine's own keys are the ones below.
    public func named(_ suffix: String) -> String { "\(tag):\(suffix)" }

    /// The queue itself: a stream read by the consumer group `workers`.
    public func stream(_ queue: String) -> String { "\(tag):\(queue):stream" }
    /// Envelopes waiting for a retry, scored by due time in unix milliseconds.
    public func delayed(_ queue: String) -> String { "\(tag):\(queue):delayed" }
    /// The queue's dead letters, a stream never trimmed by the engine.
    public func dead(_ queue: String) -> String { "\(tag):\(queue):dead" }
    /// The queue's settled attempts, newest last (`FinishedJob`), capped by `HistoryRetention`:
    /// a stream of its own, so remembering work never trims a work stream.
    public func history(_ queue: String) -> String { "\(tag):\(queue):history" }
    /// An idempotency key.
    public func dedupe(_ key: String) -> String { "\(tag):dedupe:\(key)" }
    /// A side effect already done (a reply posted), so a repeated stage does not do it twice.
    public func done(_ key: String) -> String { "\(tag):done:\(key)" }
    /// A set of queue names known to this deployment (so `switchboard queues` can list them).
    public var queues: String { "\(tag):queues" }
    /// Queues paused by an operator: consumers take no new jobs from them.
    public var paused: String { "\(tag):paused" }
    /// Per-minute counts of a queue's processed and failed jobs (a hash per minute, kept an hour).
    public func stats(_ queue: String, minute: UInt64) -> String { "\(tag):\(queue):stats:\(minute)" }
    /// The pattern that matches every stream of this deployment.
    public var streamPattern: String { "\(tag):*:stream" }

    /// The queue name of a stream key of this deployment, or nil.
    public func queue(ofStream key: String) -> String? {
        let head = "\(tag):"
        let tail = ":stream"
        guard key.hasPrefix(head), key.hasSuffix(tail), key.count > head.count + tail.count else { return nil }
        return String(key.dropFirst(head.count).dropLast(tail.count))
    }
}
