import Foundation
import Redis
import TestSupport
import Testing

/// Switchboard where Chatwoot's Redis runs under Sentinel: consumer processes and the command line
/// find the master through the sentinel, and a failover in the middle of a run loses no job.
@Suite struct SentinelFailoverTests {
    @Test func aFailoverMidRunLosesNoJob() async throws {
        let group = try await RedisSentinelGroup()
        try await group.ready()
        let h = ProcessHarness(server: group.first)
        defer { h.client.close() }
        let master = RedisClient(endpoint: RedisEndpoint(host: "192.0.2.1", port: 1, sentinel: group.settings))
        defer { master.close() }
        func enqueue(_ count: Int) async throws {
            let result = try await SwitchboardProcess.run(
                ["enqueue"] + h.common + [
                    "--kind", "sleep", "--payload", "{\"ms\": 200, \"record\": \"\(h.runsKey)\"}", "--count", String(count),
                ],
                environment: group.environment)
            #expect(result.status == 0, "\(result.output)")
        }
        // Seven and a half seconds of work for the two consumers: the failover (a few seconds) lands
        // well inside it, however fast the jobs are picked up.
        try await enqueue(600)
        _ = try await master.send("WAIT", "1", "5000")
        let consumers = try (0..<2).map { _ in
            try h.consumer(["--concurrency", "8", "--visibility-timeout", "3"], environment: group.environment)
        }
        defer { for consumer in consumers where consumer.isRunning { consumer.signal(SIGKILL) } }
        #expect(await eventually(timeout: .seconds(30)) { ((try? await master.send("HLEN", h.runsKey))?.integer ?? 0) >= 50 })
        try await group.failover()
        let doneAtFailover = try await master.send("HLEN", h.runsKey).integer ?? 0
        #expect(doneAtFailover < 600, "the failover came in the middle of the run")
        try await enqueue(100)
        let settled = await eventually(timeout: .seconds(60)) {
            let runs = (try? await master.send("HLEN", h.runsKey))?.integer
            let waiting = (try? await master.send("XLEN", h.key("diagnostics:stream")))?.integer
            let delayed = (try? await master.send("ZCARD", h.key("diagnostics:delayed")))?.integer
            return runs == 700 && waiting == 0 && delayed == 0
        }
        #expect(settled, "\(consumers.map(\.log).joined(separator: "\n---\n").suffix(4000))")
        #expect(try await master.send("XLEN", h.key("diagnostics:dead")).integer == 0)
        #expect(try await group.masterPort() == group.second.port)
        for consumer in consumers {
            #expect(consumer.isRunning, "consumers follow the failover by themselves")
            consumer.signal(SIGTERM)
            #expect(await consumer.waitForExit() == 0)
        }
        #expect(consumers.contains { $0.log.contains("reconnecting") || $0.log.contains("redis reconnected") })
    }
}
