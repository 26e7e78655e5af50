import Foundation
import Logging
import Synchronization

/// Where to find the master through Redis Sentinel, as Chatwoot is configured for it:
/// `REDIS_SENTINELS` (`host:port,host:port`, port 26379 when left out), `REDIS_SENTINEL_MASTER_NAME`
/// (default `mymaster`) and the sentinels' own password, `REDIS_SENTINEL_PASSWORD`.
public struct SentinelSettings: Sendable, Hashable, CustomStringConvertible {
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int = 26379) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public var sentinels: [Address]
    public var masterName: String
    public var password: String?

    public init(sentinels: [Address], masterName: String = "mymaster", password: String? = nil) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.password = password
    }

    /// Parses `host:port,host:port`; throws `RedisError.invalidURL` naming what is wrong.
    public init(list: String, masterName: String = "mymaster", password: String? = nil) throws {
        var addresses: [Address] = []
        for item in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            var host = item
            var port = 26379
            if let colon = item.lastIndex(of: ":"), !item.hasSuffix("]") {
                guard let parsed = Int(item[item.index(after: colon)...]), (1...65535).contains(parsed) else {
                    throw RedisError.invalidURL("REDIS_SENTINELS: port must be 1-65535 in '\(item)'")
                }
                port = parsed
                host = String(item[..<colon])
            }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw RedisError.invalidURL("REDIS_SENTINELS: missing host in '\(item)'") }
            addresses.append(Address(host: host, port: port))
        }
        guard !addresses.isEmpty else { throw RedisError.invalidURL("REDIS_SENTINELS names no sentinel") }
        guard !masterName.isEmpty else { throw RedisError.invalidURL("REDIS_SENTINEL_MASTER_NAME is empty") }
        self.init(sentinels: addresses, masterName: masterName, password: password)
    }

    /// Never the password.
    public var description: String { "master '\(masterName)' via sentinels \(sentinels.map(\.description).joined(separator: ","))" }

    /// Asks the sentinels in turn where the master is; the first that knows answers.
    func master(connectTimeout: Duration, commandTimeout: Duration) throws -> Address {
        var reasons: [String] = []
        for sentinel in sentinels {
            let endpoint = RedisEndpoint(host: sentinel.host, port: sentinel.port, password: password)
            do {
                let connection = try RedisConnection(endpoint: endpoint, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
                let reply = try connection.run([RedisCommand("SENTINEL", ["get-master-addr-by-name", masterName])])[0]
                guard let pair = reply.array, pair.count == 2, let host = pair[0].string, let port = pair[1].string.flatMap(Int.init) else {
                    reasons.append("\(sentinel) does not know '\(masterName)'" + (reply.isNull ? "" : " (\(reply))"))
                    continue
                }
                return Address(host: host, port: port)
            } catch let error as RedisError {
                reasons.append(error.description)
            }
        }
        throw RedisError.connectFailed(endpoint: description, reason: "no sentinel named the master: " + reasons.joined(separator: "; "))
    }
}

/// Follows `+switch-master` for one set of sentinels, process-wide: a thread subscribed to a
/// sentinel's announcements bumps a generation number when our master moves, and every connection
/// made under an older generation is dropped before its next command and made again to the new
/// master. Connections also move on their own when the old master answers READONLY or goes away;
/// the subscription makes the move prompt when the old master is still up and writable to us
/// (cut off from the sentinels, say), where writes would otherwise land on a master about to be
/// demoted and lose them.
final class SentinelWatch: Sendable {
    private static let watches = Mutex<[SentinelSettings: SentinelWatch]>([:])

    /// The watch for `settings`, started on first use.
    static func shared(_ settings: SentinelSettings, logger: Logger) -> SentinelWatch {
        watches.withLock { watches in
            if let watch = watches[settings] { return watch }
            let watch = SentinelWatch(settings: settings, logger: logger)
            watches[settings] = watch
            return watch
        }
    }

    private let generationValue = Atomic<Int>(0)
    var generation: Int { generationValue.load(ordering: .acquiring) }

    private let settings: SentinelSettings
    private let logger: Logger

    private init(settings: SentinelSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        // Lives as long as the process: a watch is shared by every client of these sentinels.
        let thread = Thread { [self] in listen() }
        thread.name = "switchboard-sentinel-watch"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func listen() {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        var next = 0
        while true {
            let sentinel = settings.sentinels[next % settings.sentinels.count]
            next += 1
            do {
                let connection = try RedisConnection(
                    endpoint: RedisEndpoint(host: sentinel.host, port: sentinel.port, password: settings.password),
                    connectTimeout: .seconds(2), commandTimeout: .seconds(60))
                _ = try connection.run([RedisCommand("SUBSCRIBE", ["+switch-master"])])
                backoff.reset()
                while true {
                    // A read that times out (a quiet minute) ends this connection; the next is made at once.
                    let message = try connection.next()
                    guard let parts = message.array, parts.count == 3, parts[0].string == "message",
                        let text = parts[2].string, text.split(separator: " ").first.map(String.init) == settings.masterName
                    else { continue }
                    generationValue.add(1, ordering: .releasing)
                    logger.notice("redis master switched", metadata: ["redis.sentinel": "\(sentinel)", "switch": "\(text)"])
                }
            } catch {
                Thread.sleep(forTimeInterval: Double(backoff.nextDelay().milliseconds) / 1000)
            }
        }
    }
}
