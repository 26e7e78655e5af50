import NIOCore
import NIOPosix

/// One Redis connection driven by an event loop: commands are written and replies read on the
/// channel's loop, with no thread of its own and no hop to one. Concurrent callers pipeline on it
/// (`RedisChannelHandler`). A reply later than the command timeout (plus what a blocking command
/// may legitimately wait) closes the connection, failing every request on it; a blocked read holds
/// only its own connection, never the loop.
///
/// Connecting runs AUTH and SELECT as the endpoint asks. The channel is not reopened here:
/// whoever holds it makes a new one when it has ended (`isActive`).
final class RedisChannel: Sendable {
    let channel: any Channel
    let endpoint: RedisEndpoint
    let commandTimeout: Duration
    private let endpointName: String

    private init(channel: any Channel, endpoint: RedisEndpoint, commandTimeout: Duration) {
        self.channel = channel
        self.endpoint = endpoint
        self.commandTimeout = commandTimeout
        endpointName = endpoint.description
    }

    /// Connects to `host:port` (the endpoint's, or a master a sentinel named) on a loop of `group`.
    static func connect(to endpoint: RedisEndpoint, host: String? = nil, port: Int? = nil, on group: any EventLoopGroup,
                        connectTimeout: Duration, commandTimeout: Duration) async throws -> RedisChannel {
        let name = endpoint.description
        let channel: any Channel
        let host = host ?? endpoint.host, port = port ?? endpoint.port
        do {
            let bootstrap = ClientBootstrap(group: group)
                .connectTimeout(.nanoseconds(connectTimeout.nanoseconds))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(endpoint: name))
                    }
                }
            // An address needs no resolver (whose getaddrinfo runs on a dispatch queue, which a
            // busy process can starve past the connect timeout); only a name is looked up.
            if let address = try? SocketAddress(ipAddress: host, port: port) {
                channel = try await bootstrap.connect(to: address).get()
            } else {
                channel = try await bootstrap.connect(host: host, port: port).get()
            }
        } catch {
            throw RedisError.connectFailed(endpoint: name, reason: Self.reason(error))
        }
        let connection = RedisChannel(channel: channel, endpoint: endpoint, commandTimeout: commandTimeout)
        do {
            var handshake: [RedisCommand] = []
            if let password = endpoint.password {
                handshake.append(endpoint.username.map { RedisCommand("AUTH", [$0, password]) } ?? RedisCommand("AUTH", [password]))
            }
            if endpoint.database != 0 { handshake.append(RedisCommand("SELECT", [String(endpoint.database)])) }
            for (command, reply) in zip(handshake, try await connection.send(handshake)) {
                if case .error(let message) = reply { throw RedisError.connectFailed(endpoint: name, reason: "\(command.name) failed: \(message)") }
            }
        } catch let error as RedisError {
            connection.close()
            if case .connectFailed = error { throw error }
            throw RedisError.connectFailed(endpoint: name, reason: error.description)
        }
        return connection
    }

    /// Whether the connection is still up (a closed one fails every call at once).
    var isActive: Bool { channel.isActive }

    /// Runs the commands in one write; their replies in order, server errors in place as `.error`.
    func send(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        let promise = channel.eventLoop.makePromise(of: [RedisValue].self)
        let limit = commandTimeout + (commands.map(\.blocksFor).max() ?? .zero)
        // A channel already closed never hands the request to the handler: its write fails
        // instead, and so does the request (a promise completed twice keeps its first outcome).
        let endpoint = endpointName, command = commands.first?.name ?? "?"
        channel.writeAndFlush(RedisRequest(commands: commands, promise: promise, limit: .nanoseconds(limit.nanoseconds))).whenFailure { _ in
            promise.fail(RedisError.connectionLost(endpoint: endpoint, command: command, reason: "the connection is closed"))
        }
        return try await promise.futureResult.get()
    }

    func close() {
        channel.close(promise: nil)
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case let error as IOError: return error.description
        case ChannelError.connectTimeout: return "timed out"
        default: return "\(error)"
        }
    }
}
