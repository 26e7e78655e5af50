import Foundation
import Redis
import Testing
import TestSupport

@Suite(.serialized) struct ShutdownAndRestartTests {
    @Test func sigtermLetsJobsInFlightFinishAndExitsZero() async throws {
        let server = try RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        try await h.enqueue(kind: "sleep", payload: "{\"ms\": 1500, \"record\": \"\(h.runsKey)\"}", count: 4)
        let consumer = try h.consumer(["--concurrency", "4", "--grace-period", "20"])
        #expect(await eventually { (try? await h.pendingCount()) == 4 })
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit(timeout: .seconds(20)) == 0, "\(consumer.log)")
        #expect(try await h.runs().count == 4)
        #expect(try await h.integer("XLEN", h.key("diagnostics:stream")) == 0)
        #expect(consumer.log.contains("consumer stopped"))
    }

    @Test func consumersRideOutARedisRestartWithoutLosingJobs() async throws {
        let server = try RedisServer(aof: true)
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let total = 1500
        try await h.enqueue(kind: "sleep", payload: "{\"ms\": 5, \"record\": \"\(h.runsKey)\"}", count: total)
        let consumers = try (0..<2).map { _ in try h.consumer(["--concurrency", "16", "--visibility-timeout", "2"]) }
        #expect(await eventually(timeout: .seconds(30)) { (try? await h.runs().count) ?? 0 >= 200 })
        // Kill Redis outright under load (AOF with fsync always: what it acknowledged survives).
        server.stop(graceful: false)
        try server.restart()
        #expect(await eventually(timeout: .seconds(60)) {
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
}

