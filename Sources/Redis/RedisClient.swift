import Foundation
import Logging
import Threads

/// An async Redis client that keeps hiredis' blocking calls off Swift's cooperative pool.
///
/// The client owns one thread and one connection on it. Callers enqueue commands and suspend; the
/// thread takes everything queued so far, writes it in one batch and reads the replies, so
/// concurrent callers are pipelined automatically. A broken connection is dropped and re-opened on
/// demand with a capped backoff; while waiting out the backoff, calls fail fast with
/// `RedisError.unavailable` rather than piling up.
public final class RedisClient: Sendable {
    public let endpoint: RedisEndpoint
    private let requests: BlockingQueue<PendingRequest>

    /// Starts the client's thread; the connection is opened on the first command.
    public init(
        endpoint: RedisEndpoint,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        name: String = "redis",
        logger: Logger = Logger(label: "switchboard.redis")
    ) {
        self.endpoint = endpoint
        let requests = BlockingQueue<PendingRequest>()
        self.requests = requests
        let thread = Thread {
            var loop = ConnectionLoop(
                endpoint: endpoint, connectTimeout: connectTimeout, commandTimeout: commandTimeout,
                requests: requests, logger: logger)
            loop.run()
        }
        thread.name = "switchboard-\(name)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        requests.close()
    }

    /// Runs one command; a server error reply is thrown as `RedisError.server`.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        let reply = try await withUnsafeThrowingContinuation { continuation in
            let request = PendingRequest.one(command, continuation)
            if !requests.push(request) { continuation.resume(throwing: RedisError.closed) }
        }
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

    /// Commands queued for the thread's next batch, and whether the thread is idle waiting for one.
    var backlog: (waiting: Int, idle: Bool) {
        let backlog = requests.backlog
        return (backlog.waiting, backlog.takerIdle)
    }

    /// Fails every queued call with `RedisError.closed` and lets the thread end.
    public func close() {
        requests.close()
    }

    private func submit(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        try await withUnsafeThrowingContinuation { continuation in
            let request = PendingRequest.many(commands, continuation)
            if !requests.push(request) { continuation.resume(throwing: RedisError.closed) }
        }
    }
}

/// A caller's command, or commands sent together, and where their replies go. One command (the
/// common case) travels without an array of its own, and its reply without one either. The
/// continuations are unchecked (a checked one costs an allocation per call): every request pushed
/// is answered or failed exactly once by the connection thread, which drains its queue even once
/// closed (a push refused after `close` is failed by the caller instead).
enum PendingRequest: Sendable {
    case one(RedisCommand, UnsafeContinuation<RedisValue, any Error>)
    case many([RedisCommand], UnsafeContinuation<[RedisValue], any Error>)

    func fail(_ error: any Error) {
        switch self {
        case .one(_, let continuation): continuation.resume(throwing: error)
        case .many(_, let continuation): continuation.resume(throwing: error)
        }
    }

    /// Hands this request its replies, which start at `offset` of the batch's; returns where the
    /// next request's replies start.
    func answer(_ replies: [RedisValue], from offset: Int) -> Int {
        switch self {
        case .one(_, let continuation):
            continuation.resume(returning: replies[offset])
            return offset + 1
        case .many(let commands, let continuation):
            continuation.resume(returning: Array(replies[offset..<(offset + commands.count)]))
            return offset + commands.count
        }
    }

    static func commands(of batch: [PendingRequest]) -> [RedisCommand] {
        if batch.count == 1, case .many(let commands, _) = batch[0] { return commands }
        var commands: [RedisCommand] = []
        commands.reserveCapacity(batch.count)
        for request in batch {
            switch request {
            case .one(let command, _): commands.append(command)
            case .many(let many, _): commands.append(contentsOf: many)
            }
        }
        return commands
    }
}

/// What runs on the client's thread: owns the connection and the reconnect state.
struct ConnectionLoop {
    let endpoint: RedisEndpoint
    let connectTimeout: Duration
    let commandTimeout: Duration
    let requests: BlockingQueue<PendingRequest>
    let logger: Logger
    private var connection: RedisConnection?
    private var backoff = Backoff()
    private var retryAt: ContinuousClock.Instant?
    private var lastFailure = ""
    private var everConnected = false
    /// For a Sentinel endpoint: the failover announcements, and the one the connection was made under.
    private let watch: SentinelWatch?
    private var connectedGeneration = 0

    init(
        endpoint: RedisEndpoint, connectTimeout: Duration, commandTimeout: Duration, requests: BlockingQueue<PendingRequest>, logger: Logger
    ) {
        self.endpoint = endpoint
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.requests = requests
        self.logger = logger
        watch = endpoint.sentinel.map { SentinelWatch.shared($0, logger: logger) }
    }

    mutating func run() {
        while let batch = requests.takeAll() {
            if let watch, connection != nil, watch.generation != connectedGeneration {
                logger.notice("redis master switched; reconnecting to the new one", metadata: ["redis.endpoint": "\(endpoint)"])
                connection = nil
            }
            if let idle = connection, ContinuousClock.now - idle.lastUsed >= Self.idleCheckAfter, idle.peerHasClosed() {
                // Closed by the server while idle (its `timeout`, a restart, a proxy): replaced
                // before anything is written, so the batch goes out once, on a live connection.
                logger.notice("redis closed the idle connection; reconnecting", metadata: ["redis.endpoint": "\(endpoint)"])
                connection = nil
            }
            guard let connection = connected() else {
                let error = RedisError.unavailable(endpoint: endpoint.description, reason: lastFailure)
                for request in batch { request.fail(error) }
                continue
            }
            let commands = PendingRequest.commands(of: batch)
            do {
                let replies = try connection.run(commands)
                if replies.contains(where: Self.saysTheMasterMoved) {
                    // A demoted master (or one mid-failover): the next command connects anew,
                    // through the sentinels for a Sentinel endpoint.
                    logger.warning("redis is no longer the master; reconnecting", metadata: ["redis.endpoint": "\(endpoint)"])
                    self.connection = nil
                }
                var offset = 0
                for request in batch { offset = request.answer(replies, from: offset) }
            } catch {
                self.connection = nil
                lastFailure = (error as? RedisError)?.description ?? "\(error)"
                logger.warning("redis connection lost", metadata: ["redis.endpoint": "\(endpoint)", "error": "\(lastFailure)"])
                for request in batch { request.fail(error) }
            }
        }
        connection = nil
    }

    private mutating func connected() -> RedisConnection? {
        if let connection { return connection }
        if let retryAt, ContinuousClock.now < retryAt { return nil }
        do {
            let generation = watch?.generation ?? 0
            let connection = try RedisConnection(endpoint: endpoint, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
            connectedGeneration = generation
            if everConnected {
                logger.notice("redis reconnected", metadata: ["redis.endpoint": "\(endpoint)"])
            }
            everConnected = true
            backoff.reset()
            retryAt = nil
            self.connection = connection
            return connection
        } catch {
            lastFailure = (error as? RedisError)?.description ?? "\(error)"
            let delay = backoff.nextDelay()
            retryAt = ContinuousClock.now + delay
            logger.warning(
                "redis connect failed",
                metadata: ["redis.endpoint": "\(endpoint)", "error": "\(lastFailure)", "retry_in_ms": "\(delay.milliseconds)"])
            return nil
        }
    }
}

extension ConnectionLoop {
    /// A connection idle this long is checked for a close by the server before it is used; one
    /// busy with round trips is not (it would have failed one already).
    static let idleCheckAfter: Duration = .milliseconds(10)

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
