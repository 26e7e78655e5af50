import Foundation
import Testing
import TestSupport

/// `switchboard scheduler` as an operator runs it.
@Suite struct SchedulerProcessTests {
    @Test func runsTheScheduleFileAndStopsOnSigterm() async throws {
        let server = try await RedisServer()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-\(UUID().uuidString).json")
        try #"[{"name": "heartbeat", "cron": "@every 1s", "kind": "noop"}]"#.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let scheduler = try SwitchboardProcess(["scheduler"] + h.common + ["--metrics-port", "0"], environment: ["SCHEDULE_FILE": file.path])
        #expect(await eventually(timeout: .seconds(15)) { (try? await h.integer("XLEN", h.key("diagnostics:stream"))) ?? 0 >= 2 }, "\(scheduler.log)")
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
