import Foundation
import Logging

/// An async Redis client that keeps hiredis' blocking calls off Swift's cooperative pool.
///
/// One connection, and one thread that owns it. A caller finding the connection idle writes its
/// command to the socket itself (never waiting: what the socket does not take now is the thread's
/// to write) and suspends; the thread, asleep in `poll` on the socket, wakes for the replies. A
/// caller finding a round trip under way leaves its command for the next one, which the thread
/// writes in one batch as soon as the replies are in: concurrent callers are pipelined, and an
/// idle connection costs its callers no wake-up of the thread. A broken connection is dropped and
/// re-opened by the thread on demand with a capped backoff; while waiting out the backoff, calls
/// fail fast with `RedisError.unavailable` rather than piling up.
public final class RedisClient: Sendable {
    public let endpoint: RedisEndpoint
    private let link: ClientLink

    /// Starts the client's thread; the connection is opened on the first command.
    public init(
        endpoint: RedisEndpoint,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        name: String = "redis",
        logger: Logger = Logger(label: "switchboard.redis")
    ) {
        self.endpoint = endpoint
        let link = ClientLink(endpoint: endpoint, commandTimeout: commandTimeout, logger: logger)
        self.link = link
        let thread = Thread {
            var loop = ConnectionThread(link: link, connectTimeout: connectTimeout)
            loop.run()
        }
        thread.name = "switchboard-\(name)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        link.close()
    }

    /// Runs one command; a server error reply is thrown as `RedisError.server`.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        let reply = try await withUnsafeThrowingContinuation { continuation in
            link.submit(.one(command, continuation))
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
        return try await withUnsafeThrowingContinuation { continuation in
            link.submit(.many(commands, continuation))
        }
    }

    /// What a call given to this client would wait behind.
    struct Backlog: Equatable {
        /// Calls waiting for the next round trip.
        var waiting: Int
        /// When the round trip under way started; nil when none is.
        var underWaySince: ContinuousClock.Instant?

        /// No round trip under way and none waiting: a call is written at once.
        var idle: Bool { waiting == 0 && underWaySince == nil }
    }

    var backlog: Backlog { link.backlog }

    /// Refuses further calls; those already written get their replies, those still waiting for a
    /// connection fail with `RedisError.closed`, and the thread ends.
    public func close() {
        link.close()
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
