import Logging
import Synchronization

/// A small, fixed set of `RedisClient`s, each call given to the one where it costs the fewest
/// round trips.
///
/// Each client pipelines whatever its callers send concurrently, so a handful of connections carry
/// thousands of concurrent commands. Blocking commands (XREADGROUP BLOCK) must not go through the
/// pool: they would hold a shared connection; give them a client of their own.
public final class RedisPool: Sendable {
    public let endpoint: RedisEndpoint
    private let clients: [RedisClient]
    private let next = Atomic<Int>(0)
    private let joinUnderWayFor: Duration

    /// `joinUnderWayFor`: how young a round trip under way must be for a call to wait for the
    /// next one on its connection rather than take an idle connection (tests set it to zero or
    /// to a minute to pin the choice).
    public init(
        endpoint: RedisEndpoint, size: Int = 2, commandTimeout: Duration = .seconds(5),
        joinUnderWayFor: Duration = RedisPool.joinUnderWayFor,
        logger: Logger = Logger(label: "switchboard.redis")
    ) {
        precondition(size > 0, "a pool needs at least one connection")
        self.endpoint = endpoint
        self.joinUnderWayFor = joinUnderWayFor
        self.clients = (0..<size).map { index in
            RedisClient(endpoint: endpoint, commandTimeout: commandTimeout, name: "redis-pool-\(index)", logger: logger)
        }
    }

    /// Commands already waiting on a client, below which a call joins them rather than go elsewhere.
    static let joinBelow = 64

    /// A round trip under way for less than this is a normal one, about to end: a call waits for
    /// the next on the same connection. Older, it may be a slow one: calls go elsewhere.
    public static let joinUnderWayFor: Duration = .milliseconds(2)

    /// The client a call should use: one whose next batch is already gathering (the call rides
    /// along in the same round trip), else one whose round trip under way is young (the call goes
    /// in the next), else an idle one (the call is written at once), else the next in turn.
    ///
    /// Handed out strictly in turn, a burst of calls was split over every connection, each round
    /// trip carrying a fraction of it. And since a caller writes to an idle connection itself,
    /// the first calls of a burst, given each an idle connection, went out in a round trip each:
    /// waiting behind a young round trip instead cut the worker's sleeps per job at concurrency 32
    /// from 0.46 to 0.29. A batch grown long, or a round trip under way for long (a stalled or
    /// slow connection), is not joined: calls spread.
    public var client: RedisClient {
        var idle: RedisClient?
        var young: RedisClient?
        let now = ContinuousClock.now
        for client in clients {
            let backlog = client.backlog
            if backlog.waiting > 0 && backlog.waiting < Self.joinBelow { return client }
            if let since = backlog.underWaySince {
                if backlog.waiting == 0 && young == nil && now - since < joinUnderWayFor { young = client }
            } else if backlog.waiting == 0 && idle == nil {
                idle = client
            }
        }
        if let young { return young }
        if let idle { return idle }
        let index = next.add(1, ordering: .relaxed).oldValue
        return clients[index % clients.count]
    }

    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        try await client.send(command)
    }

    @discardableResult
    public func send(_ name: String, _ arguments: String...) async throws -> RedisValue {
        try await client.send(RedisCommand(name, arguments))
    }

    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        try await client.pipeline(commands)
    }

    public func close() {
        for client in clients { client.close() }
    }
}
