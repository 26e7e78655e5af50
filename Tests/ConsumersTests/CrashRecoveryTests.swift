import Foundation
import Redis
import TestSupport
import Testing

@Suite(.serialized) struct CrashRecoveryTests {
    @Test func killedConsumersJobsAreClaimedByAnotherAndEveryJobCompletes() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let total = 60
        // Four long jobs first: they are surely in flight when the victim dies; the short ones keep
        // the other slots turning over.
        try await h.enqueue(kind: "sleep", payload: "{\"ms\": 4000, \"record\": \"\(h.runsKey)\"}", count: 4)
        try await h.enqueue(kind: "sleep", payload: "{\"ms\": 250, \"record\": \"\(h.runsKey)\"}", count: total - 4)

        let victim = try h.consumer(["--concurrency", "8", "--visibility-timeout", "1"])
        #expect(await eventually { (try? await h.runs().count) ?? 0 >= 8 })
        #expect(await eventually { (try? await h.consumerNames().count) == 1 })
        let victimName = try #require(try await h.consumerNames().first)
        // Mid-job: the victim holds in-flight entries when it dies.
        victim.signal(SIGKILL)
        #expect(await victim.waitForExit() == -SIGKILL)
        let inFlight = try await h.pendingJobIDs(of: victimName)
        #expect(inFlight.count >= 4)

        let survivor = try h.consumer(["--concurrency", "8", "--visibility-timeout", "1"])
        #expect(
            await eventually(timeout: .seconds(30)) {
                let done = try? await h.runs().count
                let length = try? await h.integer("XLEN", h.key("diagnostics:stream"))
                return done == total && length == 0
            }, "\(survivor.log)")
        // The dead consumer, its work claimed, is removed from the group; the survivor stays.
        #expect(
            await eventually(timeout: .seconds(20)) {
                let names = (try? await h.consumerNames()) ?? []
                return !names.contains(victimName) && names.count == 1
            })
        survivor.signal(SIGTERM)
        #expect(await survivor.waitForExit() == 0)

        let runs = try await h.runs()
        #expect(runs.count == total)
        let twice = Set(runs.filter { $0.value > 1 }.keys)
        // Only jobs the killed consumer held may have run twice, and none more than twice.
        #expect(twice.isSubset(of: inFlight))
        #expect(runs.values.allSatisfy { $0 <= 2 })
        #expect(try await h.integer("XLEN", h.key("diagnostics:dead")) == 0)
    }

    @Test func aJobThatCrashesEveryConsumerEndsInTheDeadLetters() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        try await h.enqueue(kind: "crash", payload: "{}")
        let options = ["--visibility-timeout", "0.3", "--poison-limit", "2"]
        let environment = ["SWITCHBOARD_ALLOW_CRASH_JOBS": "1"]
        var crashes = 0
        for _ in 0..<6 {
            if try await h.integer("XLEN", h.key("diagnostics:dead")) == 1 { break }
            let consumer = try h.consumer(options, environment: environment)
            let buried = await eventually(timeout: .seconds(10)) {
                if !consumer.isRunning { return true }
                return (try? await h.integer("XLEN", h.key("diagnostics:dead"))) == 1
            }
            #expect(buried)
            if !consumer.isRunning {
                crashes += 1
            } else {
                consumer.signal(SIGTERM)
                #expect(await consumer.waitForExit() == 0)
            }
        }
        // Delivered once by XREADGROUP and once by a claim, each killing its consumer; the third
        // delivery is over the limit of 2 and goes to the dead letters instead of running.
        #expect(crashes == 2)
        let letters = try await h.client.send(RedisCommand("XRANGE", [h.key("diagnostics:dead"), "-", "+"]))
        let text = "\(letters)"
        #expect(text.contains("poison: delivered 2 times without an outcome (limit 2)"))
        #expect(try await h.integer("XLEN", h.key("diagnostics:stream")) == 0)
    }

    @Test func crashJobsAreRefusedUnlessAllowed() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        try await h.enqueue(kind: "crash", payload: "{}")
        let consumer = try h.consumer()
        #expect(await eventually { (try? await h.integer("XLEN", h.key("diagnostics:dead"))) == 1 })
        #expect(consumer.isRunning)
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
        let letters = "\(try await h.client.send(RedisCommand("XRANGE", [h.key("diagnostics:dead"), "-", "+"])))"
        #expect(letters.contains("crash jobs are disabled"))
    }
}
