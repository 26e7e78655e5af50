/// Every way a Redis call can fail, each saying what failed (endpoint, command name) and never a
/// password or a command's arguments, which may carry payloads or secrets.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `REDIS_URL` could not be parsed.
    case invalidURL(String)
    /// Connecting (or AUTH / SELECT during the handshake) failed.
    case connectFailed(endpoint: String, reason: String)
    /// The connection is down and the client is waiting out its reconnect backoff.
    case unavailable(endpoint: String, reason: String)
    /// The connection broke while a command was written or its reply read. The command may or may not
    /// have run on the server.
    case connectionLost(endpoint: String, command: String, reason: String)
    /// The server answered with an error reply (`ERR …`, `NOGROUP …`, `NOSCRIPT …`).
    case server(command: String, message: String)
    /// The reply did not have the shape the caller expected.
    case unexpectedReply(command: String, detail: String)
    /// The client was closed.
    case closed

    public var description: String {
        switch self {
        case .invalidURL(let reason): "invalid Redis URL: \(reason)"
        case .connectFailed(let endpoint, let reason): "cannot connect to Redis at \(endpoint): \(reason)"
        case .unavailable(let endpoint, let reason): "Redis at \(endpoint) is unavailable (reconnecting): \(reason)"
        case .connectionLost(let endpoint, let command, let reason): "connection to Redis at \(endpoint) lost during \(command): \(reason)"
        case .server(let command, let message): "Redis \(command) failed: \(message)"
        case .unexpectedReply(let command, let detail): "unexpected reply to Redis \(command): \(detail)"
        case .closed: "Redis client is closed"
        }
    }

    /// True when the failure is about the connection rather than the command: retrying later may succeed.
    public var isConnectionProblem: Bool {
        switch self {
        case .connectFailed, .unavailable, .connectionLost, .closed: true
        case .invalidURL, .server, .unexpectedReply: false
        }
    }

    /// True when trying the same command again later may succeed: the connection failed, or the
    /// server answered that it cannot take it *now* — `LOADING` (reading its data after a restart),
    /// `BUSY` (a long script runs), `READONLY`/`MASTERDOWN` (around a failover), `TRYAGAIN`,
    /// `CLUSTERDOWN`, `OOM` (out of memory until something frees it), `UNBLOCKED` (a blocked read
    /// ended by a change of role).
    public var isTransient: Bool {
        if isConnectionProblem { return true }
        guard let code = serverCode else { return false }
        return Self.transientCodes.contains(code)
    }

    static let transientCodes: Set<String> = [
        "LOADING", "BUSY", "READONLY", "MASTERDOWN", "UNBLOCKED", "TRYAGAIN", "CLUSTERDOWN", "OOM", "NOREPLICAS",
    ]

    /// True when Redis refuses us as a client (no or a wrong password): nothing will work until the
    /// configuration changes, so a command-line tool exits as for an unreachable Redis.
    public var isAuthenticationProblem: Bool {
        switch self {
        case .server: serverCode == "NOAUTH" || serverCode == "WRONGPASS"
        case .connectFailed(_, let reason), .unavailable(_, let reason):
            reason.contains("NOAUTH") || reason.contains("WRONGPASS") || reason.contains("AUTH failed")
        default: false
        }
    }

    /// The error code of a server error reply (`NOGROUP`, `NOSCRIPT`, `BUSYGROUP`, …).
    public var serverCode: String? {
        guard case .server(_, let message) = self else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }
}
