/// Whether an operator paused a queue (`switchboard queues pause`), read from Redis at most once
/// per `interval` so the fetch loop does not pay a round trip per read. A pause takes effect within
/// about `interval` plus one fetch block; jobs already running finish normally.
struct PauseCheck {
    static let interval = Duration.milliseconds(500)
    let queue: String
    let broker: Broker
    private var paused = false
    private var checkedAt: ContinuousClock.Instant?

    init(queue: String, broker: Broker) {
        self.queue = queue
        self.broker = broker
    }

    mutating func isPaused() async throws -> Bool {
        let now = ContinuousClock.now
        if let checkedAt, now - checkedAt < Self.interval { return paused }
        paused = try await broker.pausedQueues().contains(queue)
        checkedAt = now
        return paused
    }
}
