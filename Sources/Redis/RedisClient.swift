import Logging
import NIOCore
import NIOPosix
import Synchronization

/// An async Redis client on one event-loop connection.
///
/// Commands are written and replies read on the connection's event loop (`RedisChannel`): a caller
/// suspends until its reply arrives, with no thread of the client's own to hop to and back.
/// Concurrent callers pipeline on the one connection. A broken connection is dropped and opened
/// again on demand with a capped backoff; while waiting out the backoff, calls fail fast with
/// `RedisError.unavailable` rather than piling up. Callers that arrive while a connection is being
/// opened wait for that one attempt instead of starting their own.
///
/// For a Sentinel endpoint, the master is asked of the sentinels on every connect and checked with
/// `ROLE`; a connection made before the sentinels announced a new master, or one whose server
/// answers `READONLY`/`UNBLOCKED`/`MASTERDOWN`, is retired (its owed replies still delivered) and
/// the next command connects anew.
public final class RedisClient: Sendable {
    public let endpoint: RedisEndpoint
    private let loop: any EventLoop
    private let connectTimeout: Duration
    private let commandTimeout: Duration
    private let logger: Logger
    private let watch: SentinelWatch?
    private let state = Mutex(State())

    /// The connection is opened on the first command, on one loop of `eventLoopGroup`.
    public init(
        endpoint: RedisEndpoint,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        name: String = "redis",
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "switchboard.redis")
    ) {
        self.endpoint = endpoint
        self.loop = eventLoopGroup.next()
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        var logger = logger
        logger[metadataKey: "redis.client"] = "\(name)"
        self.logger = logger
        watch = endpoint.sentinel.map { SentinelWatch.shared($0, logger: logger) }
    }

    deinit {
        close()
    }

    /// Whether the caller runs on the event loop of this client's connection.
    var isOnCurrentEventLoop: Bool { loop.inEventLoop }

    /// Runs one command; a server error reply is thrown as `RedisError.server`.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        let reply = try await submit([command])[0]
        if case .error(let message) = reply { throw RedisError.server(command: command.name, message: message) }
        return reply
    }

    /// Runs one command given as name and arguments.
    @discardableResult
    public func send(_ name: String, _ arguments: String...) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments))
    }

    /// Runs several commands in one round trip. Server errors come back in place as `.error`, so
    /// the caller sees exactly which command failed (as with EXEC).
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        return try await submit(commands)
    }

    /// Closes the connection (failing what still waits on it) and refuses every later call with
    /// `RedisError.closed`.
    public func close() {
        let open = state.withLock { state -> RedisChannel? in
            defer { state.connection = .closed }
            if case .up(let channel, _) = state.connection { return channel }
            return nil
        }
        open?.close()
    }

    private func submit(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        let channel = try await connection()
        let replies: [RedisValue]
        do {
            replies = try await channel.send(commands)
        } catch let error as RedisError {
            if case .connectionLost = error, forget(channel, failure: error.description) {
                logger.warning("redis connection lost", metadata: ["redis.endpoint": "\(endpoint)", "error": "\(error)"])
            }
            throw error
        }
        if replies.contains(where: Self.saysTheMasterMoved), forget(channel, failure: "no longer the master") {
            // A demoted master (or one mid-failover): the next command connects anew,
            // through the sentinels for a Sentinel endpoint.
            logger.warning("redis is no longer the master; reconnecting", metadata: ["redis.endpoint": "\(endpoint)"])
            channel.retire()
        }
        return replies
    }

    // MARK: The connection's life

    private struct State {
        var connection = Connection.idle(retryAt: nil)
        var backoff = Backoff()
        var lastFailure = ""
        var everConnected = false
    }

    private enum Connection {
        case idle(retryAt: ContinuousClock.Instant?)
        case connecting(EventLoopFuture<RedisChannel>)
        case up(RedisChannel, generation: Int)
        case closed
    }

    private enum Next {
        case use(RedisChannel)
        case wait(EventLoopFuture<RedisChannel>)
        case open(EventLoopPromise<RedisChannel>, retiring: RedisChannel?)
        case fail(RedisError)
    }

    /// The connection to use: the open one, the one being opened, or a new one.
    private func connection() async throws -> RedisChannel {
        let generation = watch?.generation ?? 0
        let next = state.withLock { state -> Next in
            var retiring: RedisChannel?
            switch state.connection {
            case .closed:
                return .fail(.closed)
            case .up(let channel, let made):
                if made == generation && channel.isActive { return .use(channel) }
                if channel.isActive { retiring = channel }
            case .connecting(let future):
                return .wait(future)
            case .idle(let retryAt):
                if let retryAt, ContinuousClock.now < retryAt {
                    return .fail(.unavailable(endpoint: endpoint.description, reason: state.lastFailure))
                }
            }
            let promise = loop.makePromise(of: RedisChannel.self)
            state.connection = .connecting(promise.futureResult)
            return .open(promise, retiring: retiring)
        }
        switch next {
        case .use(let channel):
            return channel
        case .fail(let error):
            throw error
        case .wait(let future):
            return try await future.get()
        case .open(let promise, let retiring):
            if let retiring {
                logger.notice("redis master switched; reconnecting to the new one", metadata: ["redis.endpoint": "\(endpoint)"])
                retiring.retire()
            }
            do {
                let channel = try await open(generation: generation)
                guard opened(channel, generation: generation) else {
                    channel.close()
                    throw RedisError.closed
                }
                promise.succeed(channel)
                return channel
            } catch {
                let failure = error as? RedisError == .closed ? RedisError.closed : failed(error)
                promise.fail(failure)
                throw failure
            }
        }
    }

    private func open(generation: Int) async throws -> RedisChannel {
        guard let sentinel = endpoint.sentinel else {
            return try await RedisChannel.connect(to: endpoint, on: loop, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
        }
        let master = try await sentinel.master(on: loop, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
        let channel = try await RedisChannel.connect(
            to: endpoint, host: master.host, port: master.port, on: loop, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
        do {
            let role = try await channel.send([RedisCommand("ROLE")])[0].array?.first?.string
            guard role == "master" else {
                throw RedisError.connectFailed(endpoint: endpoint.description, reason: "\(master) is a \(role ?? "server of unknown role"), not the master (a failover is under way)")
            }
        } catch {
            channel.close()
            throw error
        }
        return channel
    }

    /// Makes `channel` the connection; false when the client was closed meanwhile.
    private func opened(_ channel: RedisChannel, generation: Int) -> Bool {
        let (reconnected, closed) = state.withLock { state -> (Bool, Bool) in
            if case .closed = state.connection { return (false, true) }
            state.connection = .up(channel, generation: generation)
            state.backoff.reset()
            defer { state.everConnected = true }
            return (state.everConnected, false)
        }
        if reconnected { logger.notice("redis reconnected", metadata: ["redis.endpoint": "\(endpoint)"]) }
        return !closed
    }

    /// Records a failed connect and the backoff before the next; the error the callers get.
    private func failed(_ error: any Error) -> RedisError {
        let reason = (error as? RedisError)?.description ?? "\(error)"
        let delay = state.withLock { state -> Duration? in
            if case .closed = state.connection { return nil }
            let delay = state.backoff.nextDelay()
            state.connection = .idle(retryAt: ContinuousClock.now + delay)
            state.lastFailure = reason
            return delay
        }
        guard let delay else { return .closed }
        logger.warning("redis connect failed", metadata: ["redis.endpoint": "\(endpoint)", "error": "\(reason)", "retry_in_ms": "\(delay.milliseconds)"])
        return .unavailable(endpoint: endpoint.description, reason: reason)
    }

    /// Stops using `channel` if it is still the current connection; whether it was.
    private func forget(_ channel: RedisChannel, failure: String) -> Bool {
        state.withLock { state in
            guard case .up(let current, _) = state.connection, current === channel else { return false }
            state.connection = .idle(retryAt: nil)
            state.lastFailure = failure
            return true
        }
    }
}

extension RedisClient {
    /// `READONLY` (a replica now), `UNBLOCKED` (a blocked read ended by a change of role),
    /// `MASTERDOWN`: the server this connection reaches is not the master to write to any more.
    static func saysTheMasterMoved(_ reply: RedisValue) -> Bool {
        guard case .error(let message) = reply else { return false }
        return message.hasPrefix("READONLY") || message.hasPrefix("UNBLOCKED") || message.hasPrefix("MASTERDOWN")
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole microseconds, rounded down (Redis's `TIME` resolution, which the limits count in).
    public var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// Whole nanoseconds, rounded down (for timers and histograms).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

