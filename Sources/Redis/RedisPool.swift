import Logging
import Synchronization

/// A small, fixed set of `RedisClient`s handed out round-robin.
///
/// Each client pipelines whatever its callers send concurrently, so a handful of connections carry
/// thousands of concurrent commands. Blocking commands (XREADGROUP BLOCK) must not go through the
/// pool: they would hold a shared connection; give them a client of their own.
public final class RedisPool: Sendable {
    public let endpoint: RedisEndpoint
    private let clients: [RedisClient]
    private let next = Atomic<Int>(0)

    public init(
        endpoint: RedisEndpoint, size: Int = 2, commandTimeout: Duration = .seconds(5), logger: Logger = Logger(label: "switchboard.redis")
    ) {
        precondition(size > 0, "a pool needs at least one connection")
        self.endpoint = endpoint
        self.clients = (0..<size).map { index in
            RedisClient(endpoint: endpoint, commandTimeout: commandTimeout, name: "redis-pool-\(index)", logger: logger)
        }
    }

    /// The next client in turn.
    public var client: RedisClient {
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
