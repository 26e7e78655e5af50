import Foundation
import Redis
import TestSupport
import Testing

@Suite(.serialized) struct ShutdownAndRestartTests {
    @Test func sigtermLetsJobsInFlightFinishAndExitsZero() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        // Jobs long enough that a loaded machine still sees all four in flight before they end.
        try await h.enqueue(kind: "sleep", payload: "{\"ms\": 4000, \"record\": \"\(h.runsKey)\"}", count: 4)
        let consumer = try h.consumer(["--concurrency", "4", "--grace-period", "20"])
        #expect(await eventually(timeout: .seconds(30)) { (try? await h.pendingCount()) == 4 }, "\(consumer.log.suffix(1500))")
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit(timeout: .seconds(20)) == 0, "\(consumer.log)")
        #expect(try await h.runs().count == 4)
        #expect(try await h.integer("XLEN", h.key("diagnostics:stream")) == 0)
        #expect(consumer.log.contains("consumer stopped"))
    }

    @Test func consumersRideOutARedisRestartWithoutLosingJobs() async throws {
        let server = try await RedisServer(aof: true)
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let total = 1500
        try await h.enqueue(kind: "sleep", payload: "{\"ms\": 5, \"record\": \"\(h.runsKey)\"}", count: total)
        let consumers = try (0..<2).map { _ in try h.consumer(["--concurrency", "16", "--visibility-timeout", "2"]) }
        #expect(await eventually(timeout: .seconds(30)) { (try? await h.runs().count) ?? 0 >= 200 })
        // Kill Redis outright under load (AOF with fsync always: what it acknowledged survives).
        server.stop(graceful: false)
        try await server.restart()
        #expect(
            await eventually(timeout: .seconds(60)) {
                let done = try? await h.runs().count
                let length = try? await h.integer("XLEN", h.key("diagnostics:stream"))
                let delayed = try? await h.integer("ZCARD", h.key("diagnostics:delayed"))
                return done == total && length == 0 && delayed == 0
            }, "\(consumers.map(\.log).joined(separator: "\n---\n").suffix(3000))")
        for consumer in consumers {
            #expect(consumer.isRunning, "consumers reconnect by themselves")
            consumer.signal(SIGTERM)
            #expect(await consumer.waitForExit() == 0)
        }
        #expect(try await h.runs().count == total)
        #expect(try await h.integer("XLEN", h.key("diagnostics:dead")) == 0)
        #expect(consumers.contains { $0.log.contains("redis reconnected") })
    }

    /// A consumer that cannot do its job — here, its metrics port is taken — stops with a clear
    /// error and a non-zero exit instead of spinning without joining the group.
    @Test func aConsumerWhoseMetricsPortIsTakenExitsNonZeroSayingWhy() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let taken = try ListeningPort()
        let consumer = try SwitchboardProcess(["consumer"] + h.common + ["--metrics-port", String(taken.port)])
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        let status = await consumer.waitForExit(timeout: .seconds(15))
        _ = await consumer.outputClosed()
        #expect(status != nil && status != 0, "\(consumer.log)")
        #expect(consumer.log.contains("\(taken.port)") && consumer.log.lowercased().contains("address already in use"), "\(consumer.log)")
    }

    /// A role that cannot authenticate to Redis stops at start with exit 3 saying so, so an update
    /// that brought a wrong secret fails its health and rolls back instead of running on.
    @Test func everyRoleRefusedByRedisExits3AtStart() async throws {
        let server = try await RedisServer(extraArguments: ["--requirepass", "right-password"])
        let schedule = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("schedule.json").path
        let closed = try ClosedPort()
        for role in [
            ["consumer", "--metrics-port", "0"], ["scheduler", "--metrics-port", "0", "--schedule", schedule],
            ["producer", "--port", String(closed.port)],
        ] {
            for url in [server.url, "redis://:wrong-password@127.0.0.1:\(server.port)"] {
                let result = try await SwitchboardProcess.run([role[0], "--redis", url] + role.dropFirst(), timeout: .seconds(20))
                #expect(result.status == 3, "\(role[0]) \(url): \(result.status) \(result.output.suffix(500))")
                #expect(
                    result.output.contains("127.0.0.1:\(server.port)") && !result.output.contains("wrong-password"),
                    "\(result.output.suffix(500))")
            }
        }
    }

    /// Jobs still running at the end of the grace period are given back at once, without their
    /// cut-off delivery counting towards poison: the next replica takes them on its first pass,
    /// not a whole visibility timeout later (330 s on the call queues, after every deploy).
    @Test func jobsAbandonedAtTheEndOfTheGraceArePickedUpAtOnce() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        try await h.enqueue(kind: "sleep", payload: "{\"ms\": 30000}", count: 2)
        let first = try h.consumer(["--concurrency", "2", "--grace-period", "0.5", "--visibility-timeout", "120"])
        #expect(await eventually { (try? await h.pendingCount()) == 2 })
        let firstName = try #require(try await h.consumerNames().first)
        first.signal(SIGTERM)
        #expect(await first.waitForExit(timeout: .seconds(20)) == 0, "\(first.log)")
        func pending() async -> [(owner: String, deliveries: Int)] {
            let reply = try? await h.client.send(RedisCommand("XPENDING", [h.key("diagnostics:stream"), "workers", "-", "+", "10"]))
            return (reply?.array ?? []).compactMap { entry in
                guard let fields = entry.array, fields.count == 4, let owner = fields[1].string, let count = fields[3].integer else {
                    return nil
                }
                return (owner, count)
            }
        }
        #expect(await pending().map(\.deliveries) == [0, 0], "the cut-off deliveries are not counted")
        let started = ContinuousClock.now
        let second = try h.consumer(["--concurrency", "2", "--visibility-timeout", "120"])
        defer { if second.isRunning { second.signal(SIGKILL) } }
        #expect(
            await eventually(timeout: .seconds(10)) {
                let now = await pending()
                return now.count == 2 && now.allSatisfy { $0.owner != firstName && $0.deliveries == 1 }
            }, "\(second.log)")
        #expect(ContinuousClock.now - started < .seconds(10), "picked up long before the 120 s visibility timeout")
        second.signal(SIGKILL)
    }
}
