import Foundation
import Redis
import TestSupport
import Testing

@testable import Queue

@Suite struct ShutdownTests {
    @Test func stopLetsJobsInFlightFinishAndAcknowledgesThem() async throws {
        let h = try await Harness()
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]), concurrency: 6, grace: .seconds(20))
        var ids: [String] = []
        for _ in 0..<6 { ids.append(try await h.enqueue("recorded", #"{"ms": 700}"#).id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            #expect(await eventually { (try? await h.info().pending) == 6 })
            consumer.stop()
            try await group.waitForAll()
        }
        let runs = try await h.runs()
        #expect(Set(runs.keys) == Set(ids))
        #expect(try await h.length() == 0)
        #expect(try await h.info().pending == 0)
        // A clean stop leaves the group: `switchboard queues` lists only replicas that run.
        #expect(try await h.info().consumers.isEmpty)
    }

    @Test func jobsOutlivingTheGracePeriodAreLeftPendingForOthers() async throws {
        let h = try await Harness()
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]), concurrency: 2, grace: .milliseconds(300))
        for _ in 0..<2 { _ = try await h.enqueue("recorded", #"{"ms": 30000}"#) }
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            #expect(await eventually { (try? await h.info().pending) == 2 })
            consumer.stop()
            try await group.waitForAll()
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(try await h.runs().isEmpty)
        #expect(try await h.info().pending == 2)
        // It still owns the two entries: leaving would drop them from the pending list.
        #expect(try await h.info().consumers.count == 1)
        #expect(try await h.length() == 2)
        #expect(try await h.deadCount() == 0)
        #expect(try await h.delayedCount() == 0)
    }

    @Test func noJobsAreTakenAfterStop() async throws {
        let h = try await Harness()
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            #expect(await eventually { (try? await h.info().consumers.count) == 1 })
            consumer.stop()
            try await group.waitForAll()
        }
        _ = try await h.enqueue("recorded")
        #expect(try await h.info().lag == 1)
    }
}

@Suite struct RedisHealthTests {
    @Test func evictingRedisProducesTheWarning() async throws {
        let server = try await RedisServer(extraArguments: ["--maxmemory-policy", "allkeys-lru"])
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        let warning = try #require(try await RedisHealth.evictionWarning(client))
        #expect(warning.contains("'allkeys-lru'"))
        #expect(warning.contains("noeviction"))
    }

    @Test func noevictionIsQuiet() async throws {
        let server = try await RedisServer(extraArguments: ["--maxmemory-policy", "noeviction"])
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        #expect(try await RedisHealth.evictionWarning(client) == nil)
    }
}
