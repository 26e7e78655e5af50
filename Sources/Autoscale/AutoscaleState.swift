import Foundation
import Queue
import Redis

/// What the autoscaler last saw and decided for each service, kept in Redis for the console (and
/// `switchboard autoscale --status`): gone three intervals after the last decision-maker stopped,
/// so a page never shows a stale decision as current.
public struct AutoscaleState: Sendable {
    public struct Service: Codable, Sendable, Equatable {
        public var service: String
        public var current: Int
        public var wanted: Int
        public var minimum: Int
        public var maximum: Int
        public var queues: [String]
        /// The decision's reason (`ScalingDecision.Reason`), or why none was made.
        public var reason: String
        public var waiting: Int
        public var oldestWaiting: Int
    }

    /// Every service, who decided and when.
    public struct Snapshot: Codable, Sendable, Equatable {
        public var by: String
        /// Unix milliseconds.
        public var at: UInt64
        public var services: [Service]
    }

    public let pool: RedisPool
    public let keys: Keys

    public init(pool: RedisPool, keys: Keys) {
        self.pool = pool
        self.keys = keys
    }

    func record(_ services: [Service], by: String, at: UInt64, keptFor: Duration) async throws {
        let text = String(decoding: try JSONEncoder().encode(Snapshot(by: by, at: at, services: services)), as: UTF8.self)
        try await pool.send("SET", keys.autoscaleState, text, "PX", String(max(keptFor.milliseconds, 1_000)))
    }

    /// The last snapshot, nil when no autoscaler decided lately.
    public func latest() async throws -> Snapshot? {
        guard let text = try await pool.send("GET", keys.autoscaleState).string else { return nil }
        return try? JSONDecoder().decode(Snapshot.self, from: Data(text.utf8))
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// The autoscaler's leader lease (a string: the holder's name, with a time to live).
    public var autoscaleLeader: String { named("autoscale:leader") }
    /// The autoscaler's last decisions (`AutoscaleState.Snapshot` as JSON, three intervals).
    public var autoscaleState: String { named("autoscale:state") }
}
