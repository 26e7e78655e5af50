import Foundation
import Redis

/// Helpers for tests that run `switchboard` as separate processes against a real Redis.
public struct ProcessHarness: Sendable {
    public let server: RedisServer
    public let prefix: String
    public let client: RedisClient

    public init(server: RedisServer, prefix: String = #function) {
        self.server = server
        self.prefix = prefix.filter { $0.isLetter || $0.isNumber }
        client = RedisClient(endpoint: server.endpoint)
    }

    public var common: [String] { ["--redis", server.url, "--prefix", prefix] }
    public var runsKey: String { "{\(prefix)}:runs" }
    public func key(_ suffix: String) -> String { "{\(prefix)}:\(suffix)" }

    /// Starts `switchboard consumer` on the diagnostics queue without a metrics listener.
    public func consumer(_ extra: [String] = [], environment: [String: String] = [:]) throws -> SwitchboardProcess {
        try SwitchboardProcess(["consumer"] + common + ["--metrics-port", "0"] + extra, environment: environment)
    }

    public func enqueue(kind: String, payload: String, count: Int = 1) async throws {
        let result = try await SwitchboardProcess.run(
            ["enqueue"] + common + ["--kind", kind, "--payload", payload, "--count", String(count)])
        guard result.status == 0 else { throw TestFailure("enqueue failed (\(result.status)): \(result.output)") }
    }

    public func integer(_ arguments: String...) async throws -> Int {
        try await client.send(RedisCommand(arguments: arguments)).integer ?? -1
    }

    public func runs() async throws -> [String: Int] {
        try await client.send("HGETALL", runsKey).integerHash
    }

    /// Entry ids pending for one consumer, with the job ids they carry.
    public func pendingJobIDs(of consumer: String) async throws -> Set<String> {
        let pending = try await client.send(RedisCommand("XPENDING", [key("diagnostics:stream"), "workers", "-", "+", "1000", consumer]))
        var jobs: Set<String> = []
        for entry in pending.array ?? [] {
            guard let entryID = entry.array?.first?.string else { continue }
            let range = try await client.send(RedisCommand("XRANGE", [key("diagnostics:stream"), entryID, entryID]))
            if let id = range.array?.first?.array?.last?.pairs.first(where: { $0.key == "id" })?.value.string {
                jobs.insert(id)
            }
        }
        return jobs
    }

    public func consumerNames() async throws -> [String] {
        let reply = try await client.send(RedisCommand("XINFO", ["CONSUMERS", key("diagnostics:stream"), "workers"]))
        return (reply.array ?? []).compactMap { $0.array?[1].string }
    }
}

extension ProcessHarness {
    public func pendingCount() async throws -> Int {
        let reply = try await client.send(RedisCommand("XPENDING", [key("diagnostics:stream"), "workers"]))
        return reply.array?.first?.integer ?? -1
    }
}
