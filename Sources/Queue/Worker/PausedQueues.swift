/// Which of a consumer's queues an operator paused (`switchboard queues pause`), read from Redis
/// at most once per `interval` so the fetch loop does not pay a round trip per read. A pause takes
/// effect within about `interval` plus one fetch block; jobs already running finish normally.
struct PausedQueues {
    static let interval = Duration.milliseconds(500)
    let broker: Broker
    private var paused: Set<String> = []
    private var checkedAt: ContinuousClock.Instant?

    init(broker: Broker) {
        self.broker = broker
    }

    /// `queues` without the paused ones, in the same order.
    mutating func active(_ queues: [String]) async throws -> [String] {
        let now = ContinuousClock.now
        if checkedAt == nil || now - checkedAt! >= Self.interval {
            paused = try await broker.pausedQueues()
            checkedAt = now
        }
        return queues.filter { !paused.contains($0) }
    }
}
