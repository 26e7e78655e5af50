import CHiredis
import Foundation

/// A hiredis connection. Not `Sendable`: it is created, read and freed on the one thread that owns
/// it (a `RedisClient`'s, or the Sentinel watch's), so the C handle never crosses threads; a
/// client's callers only write to its socket (`descriptor`), under the client's lock, while the
/// client says it is open. `run` and `next` block (connection setup, the Sentinel subscription);
/// a client's thread polls the socket and reads what is there (`readReplies`).
final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    private let endpoint: RedisEndpoint
    private let commandTimeout: Duration
    private var currentTimeout: Duration
    /// The protocol bytes of the batch being written, reused from batch to batch.
    private var encoding = CommandEncoding()
    /// Builds each reply's value as hiredis parses it.
    private let reader: HiredisReply

    /// Connects (to the master the sentinels name, for a Sentinel endpoint), then runs AUTH and
    /// SELECT as the endpoint asks, and checks that a Sentinel master really is one (mid-failover
    /// the sentinels may still name the old one); throws `connectFailed` on any failure.
    init(endpoint: RedisEndpoint, connectTimeout: Duration, commandTimeout: Duration) throws {
        self.endpoint = endpoint
        self.commandTimeout = commandTimeout
        self.currentTimeout = commandTimeout
        let address =
            try endpoint.sentinel?.master(connectTimeout: connectTimeout, commandTimeout: commandTimeout)
            ?? SentinelSettings.Address(host: endpoint.host, port: endpoint.port)
        guard let context = redisConnectWithTimeout(address.host, Int32(address.port), Self.timeval(connectTimeout)) else {
            throw RedisError.connectFailed(endpoint: endpoint.description, reason: "out of memory")
        }
        if context.pointee.err != 0 {
            let reason = Self.errorText(context)
            redisFree(context)
            throw RedisError.connectFailed(endpoint: endpoint.description, reason: reason)
        }
        self.context = context
        self.reader = HiredisReply(on: context)
        _ = redisSetTimeout(context, Self.timeval(commandTimeout))
        _ = redisEnableKeepAlive(context)
        // hiredis frees its read buffer once a reply leaves more than 16 KiB of it unused, so
        // every batch of a few hundred entries grew a new one; it may keep up to this much.
        context.pointee.reader.pointee.maxbuf = Self.readBufferKept
        do {
            if let password = endpoint.password {
                let auth = endpoint.username.map { RedisCommand("AUTH", [$0, password]) } ?? RedisCommand("AUTH", [password])
                try Self.expectOK(try run([auth])[0], step: "AUTH", endpoint: endpoint)
            }
            if endpoint.database != 0 {
                try Self.expectOK(try run([RedisCommand("SELECT", [String(endpoint.database)])])[0], step: "SELECT", endpoint: endpoint)
            }
            if endpoint.sentinel != nil {
                let role = try run([RedisCommand("ROLE")])[0].array?.first?.string
                guard role == "master" else {
                    throw RedisError.connectFailed(
                        endpoint: endpoint.description,
                        reason: "\(address) is a \(role ?? "server of unknown role"), not the master (a failover is under way)")
                }
            }
        } catch let error as RedisError {
            if case .connectFailed = error { throw error }
            throw RedisError.connectFailed(endpoint: endpoint.description, reason: error.description)
        }
    }

    deinit {
        redisFree(context)
    }

    static let readBufferKept = 256 * 1024

    /// Writes every command, then reads every reply: one round trip for the whole batch. A server
    /// error reply comes back as `.error`; an I/O failure throws `connectionLost` and leaves the
    /// connection unusable.
    func run(_ commands: [RedisCommand]) throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        let blocking = commands.reduce(Duration.zero) { max($0, $1.blocksFor) }
        setTimeout(commandTimeout + blocking)
        encoding.reset()
        for command in commands { encoding.append(command) }
        try write(encoding.bytes, naming: commands[0].name)
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for command in commands {
            var raw: UnsafeMutableRawPointer?
            if redisGetReply(context, &raw) != REDIS_OK || raw == nil {
                throw RedisError.connectionLost(endpoint: endpoint.description, command: command.name, reason: Self.errorText(context))
            }
            replies.append(reader.take())
        }
        return replies
    }

    /// Writes a batch's bytes to the socket itself: hiredis' output buffer would copy them once
    /// more and start from an empty buffer on every batch. Its reader then finds nothing left to
    /// send and only reads. The socket's send timeout (`redisSetTimeout`) bounds each write.
    private func write(_ bytes: [UInt8], naming command: String) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = send(context.pointee.fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent > 0 {
                    offset += sent
                    continue
                }
                if sent < 0 && errno == EINTR { continue }
                let reason =
                    sent == 0
                    ? "connection closed" : errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : String(cString: strerror(errno))
                throw RedisError.connectionLost(endpoint: endpoint.description, command: command, reason: reason)
            }
        }
    }

    /// Reads one more reply (a message of a subscription).
    func next() throws -> RedisValue {
        var raw: UnsafeMutableRawPointer?
        if redisGetReply(context, &raw) != REDIS_OK || raw == nil {
            throw RedisError.connectionLost(endpoint: endpoint.description, command: "SUBSCRIBE", reason: Self.errorText(context))
        }
        return reader.take()
    }

    /// The socket: the client's thread polls it, and callers write to it under the client's lock
    /// (`writeSome`, `peerHasClosed`) while the thread owns everything else.
    var descriptor: Int32 { context.pointee.fd }

    /// Reads what the socket holds (one `read`: call it once `poll` finds the socket readable) and
    /// appends every reply now complete; a reply still arriving stays in hiredis' buffer. Throws
    /// the reason on an end of stream, an I/O error or bytes that are not the Redis protocol.
    func readReplies(into replies: inout [RedisValue]) throws(ConnectionFailure) {
        if redisBufferRead(context) != REDIS_OK { throw ConnectionFailure(reason: Self.errorText(context)) }
        while true {
            var raw: UnsafeMutableRawPointer?
            if redisGetReplyFromReader(context, &raw) != REDIS_OK { throw ConnectionFailure(reason: Self.errorText(context)) }
            guard raw != nil else { return }
            replies.append(reader.take())
        }
    }

    /// Writes as much of `bytes` as the socket takes now, never waiting: the count written (0 when
    /// its buffer is full), or why the connection is lost.
    static func writeSome(_ socket: Int32, _ bytes: UnsafeRawBufferPointer) -> Result<Int, ConnectionFailure> {
        while true {
            let sent = send(socket, bytes.baseAddress!, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            if sent >= 0 { return .success(sent) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .success(0) }
            return .failure(ConnectionFailure(reason: String(cString: strerror(errno))))
        }
    }

    /// What writing a round trip without waiting left to do.
    enum RoundTripWrite {
        case whole
        /// The bytes the socket did not take yet, for the client's thread to write.
        case rest([UInt8])
        case failed(String)
    }

    /// Starts a round trip: writes `bytes` as far as the socket takes them now.
    static func writeRoundTrip(_ bytes: [UInt8], to socket: Int32) -> RoundTripWrite {
        switch bytes.withUnsafeBytes({ writeSome(socket, $0) }) {
        case .success(let written) where written == bytes.count: .whole
        case .success(let written): .rest(Array(bytes[written...]))
        case .failure(let failure): .failed(failure.reason)
        }
    }

    /// Whether the server has closed the connection (or reset it) while it sat idle: an end of
    /// stream, an error or stray bytes wait on the socket. Costs one `poll`, no blocking; a
    /// connection found so is replaced before anything is written on it, so a command never goes
    /// out on a socket already known dead.
    static func peerHasClosed(_ socket: Int32) -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return false }
        if descriptor.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { return true }
        // Readable while no reply is owed: the end of the stream, or bytes nothing asked for
        // (either way the connection cannot be trusted with a request).
        var byte: UInt8 = 0
        let peeked = recv(socket, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return peeked >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
    }

    private func setTimeout(_ timeout: Duration) {
        guard timeout != currentTimeout else { return }
        _ = redisSetTimeout(context, Self.timeval(timeout))
        currentTimeout = timeout
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        let message = HiredisReply.errorText(context.pointee.errstr)
        if message.isEmpty { return "I/O error" }
        if message.contains("Resource temporarily unavailable") { return "timed out" }
        return message
    }

    private static func expectOK(_ reply: RedisValue, step: String, endpoint: RedisEndpoint) throws {
        if case .error(let message) = reply {
            throw RedisError.connectFailed(endpoint: endpoint.description, reason: "\(step) failed: \(message)")
        }
    }

    private static func timeval(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        return Foundation.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}

/// Why a connection cannot go on: an end of stream, an I/O error, a protocol error (the text hiredis
/// or the system gives).
struct ConnectionFailure: Error {
    var reason: String
}
