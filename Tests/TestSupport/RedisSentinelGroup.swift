import Foundation
import Redis

/// A master, a replica and a sentinel watching them, all real (`redis-server`, and Debian's
/// `redis-sentinel` — or `redis-server --sentinel`, the same program, where that package is not
/// installed), on loopback ports of their own: for tests that fail the master over mid-run.
public final class RedisSentinelGroup: Sendable {
    public let masterName: String
    public let first: RedisServer
    public let second: RedisServer
    public let sentinelPort: Int
    private let sentinel: ProcessBox
    private let directory: URL

    public init(masterName: String = "mymaster") async throws {
        self.masterName = masterName
        first = try await RedisServer(aof: true)
        second = try await RedisServer(aof: true, extraArguments: ["--replicaof", "127.0.0.1", String(first.port)])
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-sentinel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var started: (ProcessBox, Int)?
        for _ in 0..<5 where started == nil {
            let port = try FreePort.find()
            let config = directory.appendingPathComponent("sentinel-\(port).conf")
            // The tests fail over on purpose (`SENTINEL FAILOVER`). A sentinel that also judged a
            // master down after one unanswered second failed the new master back over on a loaded
            // machine, to the old one still resyncing with an emptied dataset: "before" was lost.
            try """
            port \(port)
            bind 127.0.0.1
            dir \(directory.path)
            logfile \(directory.appendingPathComponent("sentinel.log").path)
            sentinel monitor \(masterName) 127.0.0.1 \(first.port) 1
            sentinel down-after-milliseconds \(masterName) 60000
            sentinel failover-timeout \(masterName) 5000
            sentinel parallel-syncs \(masterName) 1

            """.write(to: config, atomically: true, encoding: .utf8)
            let box = ProcessBox()
            let sentinelBinary = "/usr/bin/redis-sentinel"
            let launched: Void? =
                FileManager.default.isExecutableFile(atPath: sentinelBinary)
                ? (try? box.start(arguments: [config.path], port: port, executable: sentinelBinary))
                : (try? box.start(arguments: [config.path, "--sentinel"], port: port))
            if launched != nil { started = (box, port) }
        }
        guard let (box, port) = started else { throw TestFailure("redis-server --sentinel did not start") }
        sentinel = box
        sentinelPort = port
    }

    deinit {
        sentinel.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The settings a client (or a process's `REDIS_SENTINELS`) uses to find the master.
    public var settings: SentinelSettings {
        SentinelSettings(sentinels: [.init(host: "127.0.0.1", port: sentinelPort)], masterName: masterName)
    }

    public var environment: [String: String] {
        ["REDIS_SENTINELS": "127.0.0.1:\(sentinelPort)", "REDIS_SENTINEL_MASTER_NAME": masterName]
    }

    /// The port of the server the sentinel names master now.
    public func masterPort() async throws -> Int {
        let reply = try await sentinelCommand("SENTINEL", "get-master-addr-by-name", masterName)
        guard let port = reply.array?.last?.string.flatMap(Int.init) else { throw TestFailure("the sentinel names no master: \(reply)") }
        return port
    }

    /// Waits until the sentinel knows the replica and it is in sync, so a failover can promote it.
    /// The sentinel learns the replica from its look at the master every ten seconds, twice that
    /// on a loaded machine: hence the bound.
    public func ready(timeout: Duration = .seconds(60)) async throws {
        let known = await eventually(timeout: timeout, every: .milliseconds(100)) {
            let replicas = (try? await self.sentinelCommand("SENTINEL", "replicas", self.masterName))?.array ?? []
            return replicas.contains { replica in
                let fields = Dictionary(replica.pairs.map { ($0.key, $0.value.string ?? "") }, uniquingKeysWith: { $1 })
                return fields["flags"] == "slave" && fields["master-link-status"] == "ok"
            }
        }
        guard known else { throw TestFailure("the sentinel never saw the replica in sync") }
    }

    /// Fails the master over to the replica (`SENTINEL FAILOVER`) and waits until the replica is
    /// the master, taking writes.
    public func failover(timeout: Duration = .seconds(30)) async throws {
        let before = try await masterPort()
        _ = try await sentinelCommand("SENTINEL", "FAILOVER", masterName)
        let moved = await eventually(timeout: timeout, every: .milliseconds(100)) {
            guard let now = try? await self.masterPort(), now != before else { return false }
            let server = now == self.first.port ? self.first : self.second
            return (try? await server.command("ROLE"))?.array?.first?.string == "master"
        }
        guard moved else { throw TestFailure("no failover within \(timeout)") }
    }

    /// The sentinel's log (its last 60 lines): what it judged and did, for a failing test to show.
    public var sentinelLog: String {
        let text = (try? String(contentsOf: directory.appendingPathComponent("sentinel.log"), encoding: .utf8)) ?? "(no sentinel log)"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(60).joined(separator: "\n")
    }

    func sentinelCommand(_ arguments: String...) async throws -> RedisValue {
        let client = RedisClient(endpoint: RedisEndpoint(host: "127.0.0.1", port: sentinelPort))
        defer { client.close() }
        return try await client.send(RedisCommand(arguments: arguments))
    }
}
