import Foundation
import TestSupport
import Testing

/// `switchboard scheduler` as an operator runs it.
@Suite struct SchedulerProcessTests {
    @Test func runsTheScheduleFileAndStopsOnSigterm() async throws {
        let server = try await RedisServer()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-\(UUID().uuidString).json")
        try #"[{"name": "heartbeat", "cron": "@every 1s", "kind": "noop"}]"#.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let scheduler = try SwitchboardProcess(
            ["scheduler"] + h.common + ["--metrics-port", "0"], environment: ["SCHEDULE_FILE": file.path])
        #expect(
            await eventually(timeout: .seconds(15)) { (try? await h.integer("XLEN", h.key("diagnostics:stream"))) ?? 0 >= 2 },
            "\(scheduler.log)")
        scheduler.signal(SIGTERM)
        #expect(await scheduler.waitForExit() == 0)
        #expect(try await h.client.send("EXISTS", h.key("scheduler:leader")).integer == 0, "the lease is given up on SIGTERM")
        _ = await scheduler.outputClosed()
        #expect(scheduler.log.contains("scheduled job enqueued") && scheduler.log.contains("schedule=heartbeat"))
    }

    @Test func aBadScheduleExits2NamingTheEntry() async throws {
        let server = try await RedisServer()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-\(UUID().uuidString).json")
        try #"[{"name": "nightly", "cron": "0 3 * *", "kind": "noop"}]"#.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await SwitchboardProcess.run(["scheduler", "--redis", server.url, "--schedule", file.path, "--metrics-port", "0"])
        #expect(result.status == 2)
        #expect(result.output.contains("nightly") && result.output.contains("five fields"), "\(result.output)")
        let missing = try await SwitchboardProcess.run(["scheduler", "--redis", server.url, "--metrics-port", "0"])
        #expect(missing.status == 2 && missing.output.contains("SCHEDULE_FILE"))
    }
}

/// Three `switchboard scheduler` processes over many ticks, through a kill -9 of the leader and a
/// restart of Redis: no tick is ever enqueued twice, and ticks keep coming after each.
@Suite struct SchedulerFaultTests {
    @Test func threeReplicasFireEachTickOnceThroughALeadersDeathAndARedisRestart() async throws {
        let server = try await RedisServer(aof: true)
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-\(UUID().uuidString).json")
        try #"[{"name": "heartbeat", "cron": "@every 1s", "kind": "noop"}]"#.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let replicas = try (0..<3).map { _ in
            try SwitchboardProcess(
                ["scheduler"] + h.common + ["--metrics-port", "0", "--lease", "3"], environment: ["SCHEDULE_FILE": file.path])
        }
        defer { for replica in replicas where replica.isRunning { replica.signal(SIGKILL) } }
        /// The tick of every job enqueued so far, read from the jobs' dedupe field.
        func ticks() async -> [Int] {
            let entries = (try? await h.client.send("XRANGE", h.key("diagnostics:stream"), "-", "+").array) ?? []
            return entries.compactMap { entry in
                entry.array?.last?.pairs.first { $0.key == "dedupe" }?.value.string.flatMap { Int($0.split(separator: ":").last ?? "") }
            }
        }
        #expect(await eventually(timeout: .seconds(20)) { await ticks().count >= 3 })
        // kill -9 the leader: another takes over once the lease runs out.
        let leader = try #require(try await h.client.send("GET", h.key("scheduler:leader")).string)
        let victim = try #require(replicas.first { leader.contains("-\($0.pid)-") }, "\(leader)")
        victim.signal(SIGKILL)
        let killedAt = Int(Date().timeIntervalSince1970)
        #expect(
            await eventually(timeout: .seconds(20)) {
                let now = try? await h.client.send("GET", h.key("scheduler:leader")).string
                return now != nil && now != leader
            })
        #expect(
            await eventually(timeout: .seconds(20)) { await ticks().contains { $0 > killedAt + 4 } },
            "ticks come again after the leader died")
        // Redis restarts (AOF on): the replicas reconnect and go on, firing nothing twice.
        server.stop(graceful: true)
        try await server.restart()
        let restartedAt = Int(Date().timeIntervalSince1970)
        #expect(
            await eventually(timeout: .seconds(30)) { await ticks().contains { $0 > restartedAt + 2 } },
            "ticks come again after Redis restarted")
        for replica in replicas where replica.isRunning { replica.signal(SIGTERM) }
        for replica in replicas where replica !== victim { #expect(await replica.waitForExit() == 0) }
        let all = await ticks()
        #expect(Set(all).count == all.count, "a tick was enqueued twice: \(all.sorted())")
        #expect(all.count >= 8)
    }
}
