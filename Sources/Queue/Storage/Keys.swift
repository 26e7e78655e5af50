/// Every Redis key Switchboard writes, built in one place.
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
    /// The scheduler's leader lease: the name of the replica that fires ticks.
    public var schedulerLeader: String { "\(tag):scheduler:leader" }
    /// The backups that exist, as their jobs recorded them: backup id → JSON record (a hash).
    public var backups: String { "\(tag):backups" }
    /// The reservations triage finds guests' stays in: reservation id → its last known facts (a hash).
    public var reservations: String { "\(tag):reservations" }
    /// A guest's phone digits or lowercased email → their latest reservation's id (a hash).
    public var reservationsByContact: String { "\(tag):reservations:contact" }
    /// Who a conversation's guest is, as something other than the guest said so: knowledge key
    /// (`phone:<digits>`, `email:<lowercased>`) → where it was learnt (a hash, kept 180 days).
    public func verifiedGuest(account: Int, conversation: Int) -> String { "\(tag):guest:\(account):\(conversation)" }
    /// Reservation id → its check-out day as `yyyyMMdd` (a sorted set), to drop stays long over.
    public var reservationEnds: String { "\(tag):reservations:ends" }
    /// The attachments mirror: source key → `size etag` of the source object last copied (a hash).
    public var mirrored: String { "\(tag):backups:mirrored" }
    /// Mirrored objects whose source is gone: mirror key → Unix ms when first seen gone (a hash).
    public var mirrorGone: String { "\(tag):backups:gone" }
    /// Each schedule entry's last fire: entry name → `<tick> <job id>` (a hash).
    public var schedulerFired: String { "\(tag):scheduler:fired" }
    /// A console session signed out before its time (its mark; kept until it would have expired).
    public func consoleEnded(_ mark: String) -> String { "\(tag):console:ended:\(mark)" }
    /// What operators did from the console: who, what, on what, how many (a stream, capped).
    public var audit: String { "\(tag):audit" }
    /// A short-lived key the producer writes to prove Redis takes writes (`/readyz`).
    public var producerProbe: String { "\(tag):producer:ready" }
    /// Per-minute counts of a queue's processed and failed jobs (a hash per minute, kept an hour).
    public func stats(_ queue: String, minute: UInt64) -> String { "\(tag):\(queue):stats:\(minute)" }
    /// A service's shared limit state (a hash: its token bucket's next free time, a pause from a
    /// 429, the priority hold, counts of calls held back).
    public func limit(_ service: String) -> String { "\(tag):limit:\(service)" }
    /// A service's calls in flight across the deployment: holder → lease expiry (a sorted set).
    public func limitInFlight(_ service: String) -> String { "\(tag):limit:\(service):inflight" }
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
