/// Where a Redis server is and how to log in to it, parsed from a `REDIS_URL`.
///
/// Accepts `redis://[user:password@]host[:port][/db]` (the password may stand alone as
/// `redis://:password@host`). The description never contains the password, so an endpoint can be
/// logged or put into an error message safely.
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// When set, `host` and `port` are not used: the master is found through these sentinels at
    /// every connection, and followed through failovers.
    public var sentinel: SentinelSettings?

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0,
        sentinel: SentinelSettings? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.sentinel = sentinel
    }

    /// Parses a `redis://` URL; throws `RedisError.invalidURL` naming what is wrong (never the password).
    public init(url: String) throws {
        guard url.hasPrefix("redis://") else {
            throw RedisError.invalidURL("expected redis://[user:password@]host:port[/db], got a URL without the redis:// scheme")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = String(credentials[..<colon])
                username = user.isEmpty ? nil : Self.percentDecoded(user)
                password = Self.percentDecoded(String(credentials[credentials.index(after: colon)...]))
            } else if !credentials.isEmpty {
                password = Self.percentDecoded(String(credentials))
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let db = Int(path), db >= 0 else {
                    throw RedisError.invalidURL("database must be a non-negative number, got '\(path)'")
                }
                database = db
            }
        }
        var host = String(rest)
        var port = 6379
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw RedisError.invalidURL("unterminated IPv6 address") }
            let after = host[host.index(after: close)...]
            let address = String(host[host.index(after: host.startIndex)..<close])
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    throw RedisError.invalidURL("port must be 1-65535, got '\(after.dropFirst())'")
                }
                port = p
            }
            host = address
        } else if let colon = host.lastIndex(of: ":") {
            let portText = host[host.index(after: colon)...]
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw RedisError.invalidURL("port must be 1-65535, got '\(portText)'")
            }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw RedisError.invalidURL("missing host") }
        self.init(host: host, port: port, username: username, password: password, database: database)
    }

    public var description: String {
        var text = sentinel == nil ? "redis://" : "redis+sentinel://"
        if let username { text += username }
        if password != nil { text += ":***" }
        if username != nil || password != nil { text += "@" }
        text += sentinel?.masterName ?? SentinelSettings.Address(host: host, port: port).description
        if database != 0 { text += "/\(database)" }
        if let sentinel { text += " (sentinels \(sentinel.sentinels.map(\.description).joined(separator: ",")))" }
        return text
    }

    private static func percentDecoded(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
