import Queue
import Redis
import Services

/// What the shared limits look like right now, for the operator: each service that has been
/// called under a limit, with the limit the consumers hold it to, whether it is paused (and for
/// how long), whether background calls are giving way, its calls in flight, and how many calls
/// were let through and held back (and why) since the deployment began.
public struct LimitInspector: Sendable {
    public struct ServiceState: Sendable, Encodable, Equatable {
        public var service: String
        public var limit: String
        public var pausedForMilliseconds: Int64
        public var backgroundGivingWay: Bool
        public var inFlight: Int
        public var letThrough: Int
        public var heldBack: Int
        /// Held back by reason: `rate`, `concurrency`, `paused`, `priority`.
        public var heldBecause: [String: Int]
        public var pauses: Int
    }

    let pool: RedisPool
    let keys: Keys

    public init(pool: RedisPool, keys: Keys) {
        self.pool = pool
        self.keys = keys
    }

    public func services() async throws -> [ServiceState] {
        let time = try await pool.send("TIME").array ?? []
        let now = Int64(time.first?.integer ?? 0) * 1_000_000 + Int64(time.count > 1 ? time[1].integer ?? 0 : 0)
        let services = ExternalService.allCases
        let replies = try await pool.pipeline(
            services.flatMap { service in
                [
                    RedisCommand("HGETALL", [keys.limit(service.rawValue)]),
                    RedisCommand("ZCOUNT", [keys.limitInFlight(service.rawValue), String(now), "+inf"]),
                ]
            })
        var states: [ServiceState] = []
        for (index, service) in services.enumerated() {
            let (state, inFlight) = (replies[2 * index], replies[2 * index + 1])
            let fields = Dictionary(state.pairs.map { ($0.key, $0.value.string ?? "") }, uniquingKeysWith: { _, last in last })
            guard !fields.isEmpty else { continue }
            func number(_ name: String) -> Int64 { Int64(fields[name] ?? "") ?? 0 }
            let reasons = ["rate", "concurrency", "paused", "priority"]
            states.append(
                ServiceState(
                    service: service.rawValue, limit: fields["limit"] ?? "?",
                    pausedForMilliseconds: max(0, number("paused_until") - now) / 1000,
                    backgroundGivingWay: number("urgent_until") > now,
                    inFlight: inFlight.integer ?? 0,
                    letThrough: Int(number("granted")),
                    heldBack: Int(number("held_interactive") + number("held_background")),
                    heldBecause: Dictionary(uniqueKeysWithValues: reasons.map { ($0, Int(number("held_\($0)"))) }.filter { $0.1 > 0 }),
                    pauses: Int(number("pauses"))))
        }
        return states
    }
}
