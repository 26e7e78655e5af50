import Foundation
import TestSupport
import Testing

/// `switchboard schedules`: what the scheduler will do and has done, seen and driven from the CLI.
@Suite struct SchedulesCommandTests {
    static func file(_ text: String) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-\(UUID().uuidString).json")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func showsNextAndLastFireWithTheJobAndTheLeader() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        // Paris's entry fires half a day from now: a fresh scheduler fires the latest tick of the
        // last hour (its catch-up window), so a fixed time would fire in the hour after it.
        var parisCalendar = Calendar(identifier: .gregorian)
        parisCalendar.timeZone = try #require(TimeZone(identifier: "Europe/Paris"))
        let hour = (parisCalendar.component(.hour, from: Date()) + 12) % 24
        let file = try Self.file(
            #"[{"name": "heartbeat", "cron": "@every 1s", "kind": "noop"}, {"name": "paris-night", "cron": "30 "# + "\(hour)"
                + #" * * *", "kind": "noop", "tz": "Europe/Paris"}]"#)
        defer { try? FileManager.default.removeItem(at: file) }
        let scheduler = try SwitchboardProcess(
            ["scheduler"] + h.common + ["--metrics-port", "0"], environment: ["SCHEDULE_FILE": file.path])
        defer { if scheduler.isRunning { scheduler.signal(SIGKILL) } }
        #expect(
            await eventually(timeout: .seconds(15)) { (try? await h.integer("XLEN", h.key("diagnostics:stream"))) ?? 0 >= 1 },
            "\(scheduler.log)")
        let (status, json) = try await SwitchboardProcess.run(["schedules", "--json", "--schedule", file.path] + h.common)
        #expect(status == 0, "\(json)")
        let object = jsonFields(Array(json.utf8))
        let rows = object["schedules"] as? [[String: Any]] ?? []
        let heartbeat = rows.first { $0["name"] as? String == "heartbeat" } ?? [:]
        let paris = rows.first { $0["name"] as? String == "paris-night" } ?? [:]
        let last = heartbeat["last"] as? [String: Any] ?? [:]
        let jobs = try await h.client.send("XRANGE", h.key("diagnostics:stream"), "-", "+").array ?? []
        let ids = jobs.compactMap { $0.array?.last?.pairs.first { $0.key == "id" }?.value.string }
        #expect(ids.contains(last["jobID"] as? String ?? "?"), "the last fire names a job the scheduler made: \(json)")
        #expect(heartbeat["lastOutcome"] as? String == "not dead")
        #expect(heartbeat["zone"] as? String == "UTC", "the default zone is named as operators write it")
        #expect(
            paris["zone"] as? String == "Europe/Paris" && paris["last"] == nil
                && (paris["next"] as? Int ?? 0) > Int(Date().timeIntervalSince1970), "\(json)")
        #expect(((object["leader"] as? [String: Any])?["replica"] as? String)?.isEmpty == false, "\(json)")
        let (_, table) = try await SwitchboardProcess.run(["schedules", "--schedule", file.path] + h.common)
        #expect(table.contains("paris-night") && table.contains("Europe/Paris") && table.contains("leader: "), "\(table)")
        scheduler.signal(SIGTERM)
        #expect(await scheduler.waitForExit() == 0)
    }

    @Test func runEnqueuesAnEntryNowAndNeverTwiceInOneSecond() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let file = try Self.file(#"[{"name": "snap", "cron": "0 3 * * *", "kind": "noop", "payload": {"from": "schedule"}}]"#)
        defer { try? FileManager.default.removeItem(at: file) }
        // Two operators at once: each run asks within its own second; one job per second asked in.
        async let first = SwitchboardProcess.run(["schedules", "run", "snap", "--schedule", file.path] + h.common)
        async let second = SwitchboardProcess.run(["schedules", "run", "snap", "--schedule", file.path] + h.common)
        let outputs = try await [first, second]
        #expect(outputs.allSatisfy { $0.status == 0 }, "\(outputs)")
        let seconds = try await h.client.send("KEYS", h.key("dedupe:scheduler:snap:manual:*")).array?.count ?? 0
        #expect(try await h.integer("XLEN", h.key("diagnostics:stream")) == seconds && seconds >= 1)
        if seconds == 1 { #expect(outputs.contains { $0.output.contains("already enqueued this second") }, "\(outputs)") }
        #expect(outputs.contains { $0.output.contains("enqueued noop job") })
        let unknown = try await SwitchboardProcess.run(["schedules", "run", "nope", "--schedule", file.path] + h.common)
        #expect(unknown.status == 2 && unknown.output.contains("snap"), "\(unknown.output)")
    }

    @Test func checkReadsAFileAsTheSchedulerWouldAndNamesTheEntryAtFault() async throws {
        let good = try Self.file(#"[{"name": "a", "cron": "@hourly", "kind": "noop", "tz": "America/New_York"}]"#)
        let bad = try Self.file(
            #"[{"name": "a", "cron": "@hourly", "kind": "noop"}, {"name": "moon", "cron": "0 3 * * *", "kind": "noop", "tz": "Moon/Base"}]"#
        )
        defer { for file in [good, bad] { try? FileManager.default.removeItem(at: file) } }
        let ok = try await SwitchboardProcess.run(["schedules", "check", good.path])
        #expect(ok.status == 0 && ok.output.contains("1 entries"), "\(ok.output)")
        let refused = try await SwitchboardProcess.run(["schedules", "check", bad.path])
        #expect(refused.status == 2 && refused.output.contains("moon") && refused.output.contains("Moon/Base"), "\(refused.output)")
        // A path to something far too big (a mistaken 4 GiB file here, sparse) or that never ends is
        // refused, not read into memory.
        let huge = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-huge-\(UUID().uuidString).json")
        #expect(FileManager.default.createFile(atPath: huge.path, contents: Data("[".utf8)))
        defer { try? FileManager.default.removeItem(at: huge) }
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: 4 << 30)
        try handle.close()
        for path in [huge.path, "/dev/zero"] {
            let refused = try await SwitchboardProcess.run(["schedules", "check", path], timeout: .seconds(20))
            #expect(refused.status == 2 && refused.output.contains("larger than"), "\(path): \(refused.output)")
        }
        let missing = try await SwitchboardProcess.run(["schedules", "check", "/nonexistent/schedule.json"])
        #expect(missing.status == 2 && missing.output.contains("cannot read the schedule"), "\(missing.output)")
    }
}
