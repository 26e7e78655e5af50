import Foundation
import Redis
import TestSupport
import Testing

/// The operator's CLI against real dead letters made by failing jobs.
@Suite struct OperatorTests {
    /// Enqueues `count` permanently failing jobs and lets a consumer bury them.
    func makeDeadLetters(_ h: ProcessHarness, count: Int) async throws {
        try await h.enqueue(kind: "fail", payload: #"{"permanent": true}"#, count: count)
        let consumer = try h.consumer()
        #expect(await eventually { (try? await h.integer("XLEN", h.key("diagnostics:dead"))) == count })
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }

    func run(_ h: ProcessHarness, _ arguments: [String], stdin: String? = nil) async throws -> (status: Int32, output: String) {
        try await SwitchboardProcess.run(Array(arguments.prefix(2)) + h.common + Array(arguments.dropFirst(2)))
    }

    @Test func listShowRetryDropRoundTrip() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        try await makeDeadLetters(h, count: 3)

        let list = try await run(h, ["dead", "list", "--json"])
        #expect(list.status == 0)
        struct Line: Decodable { var queue: String; var entry_id: String; var fields: [String: String] }
        let lines = try list.output.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try JSONDecoder().decode(Line.self, from: Data($0.utf8))
        }
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.queue == "diagnostics" && $0.fields["error"] == "diagnostic permanent failure (attempt 1)" })
        let id = try #require(lines.first?.fields["id"])

        let table = try await run(h, ["dead", "list"])
        #expect(table.output.contains("ATTEMPTS"))
        #expect(table.output.contains(id))

        let show = try await run(h, ["dead", "show", id])
        #expect(show.status == 0)
        #expect(show.output.contains("\"permanent\" : true"), "payload pretty-printed")
        #expect(show.output.contains("history"))
        #expect(show.output.contains("attempt 1"))
        #expect(show.output.contains("flow          \(id)\n"), "a job that started its flow is its own flow")

        let retry = try await run(h, ["dead", "retry", id])
        #expect(retry.status == 0)
        #expect(retry.output.contains("retried 1 of 1"))
        #expect(try await h.integer("XLEN", h.key("diagnostics:stream")) == 1)
        #expect(try await run(h, ["dead", "retry", id]).status == 1, "already retried: nothing to do")
        #expect(try await run(h, ["dead", "show", id]).status == 1)

        let drop = try await run(h, ["dead", "drop", "--all", "--kind", "fail"])
        #expect(drop.status == 0)
        #expect(drop.output.contains("dropped 2 of 2"))
        #expect(try await h.integer("XLEN", h.key("diagnostics:dead")) == 0)
        #expect(try await run(h, ["dead", "list"]).status == 1, "nothing matched")
    }

    @Test func exportThenImport() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        try await makeDeadLetters(h, count: 4)
        let export = try await run(h, ["dead", "export"])
        #expect(export.status == 0)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dead-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(export.output.utf8).write(to: file)
        #expect(export.output.split(separator: "\n").count == 4)
        #expect(try await run(h, ["dead", "drop", "--all"]).status == 0)
        let imported = try await run(h, ["dead", "import", "--file", file.path])
        #expect(imported.status == 0)
        #expect(imported.output.contains("imported 4 dead letters"))
        let again = try await run(h, ["dead", "export"])
        let lines: [[String: Any]] = again.output.split(separator: "\n").compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        let ids: [String] = lines.compactMap { ($0["fields"] as? [String: String])?["id"] }
        #expect(Set(ids).count == 4)
        // The same file twice is the same letters, not twice as many.
        let twice = try await run(h, ["dead", "import", "--file", file.path])
        #expect(twice.status == 0 && twice.output.contains("imported 0 dead letters, 4 already there"), "\(twice.output)")
        #expect(try await h.integer("XLEN", h.key("diagnostics:dead")) == 4)
        // A letter for a queue this build does not have is refused by line, exit 2.
        let foreign = FileManager.default.temporaryDirectory.appendingPathComponent("dead-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: foreign) }
        let line = String(export.output.split(separator: "\n")[0]).replacingOccurrences(
            of: #""queue":"diagnostics""#, with: #""queue":"made-up""#)
        try Data(line.utf8).write(to: foreign)
        let refused = try await run(h, ["dead", "import", "--file", foreign.path])
        #expect(
            refused.status == 2 && refused.output.contains("line 1: kind 'fail' runs on queue 'diagnostics', not 'made-up'"),
            "\(refused.output)")
        #expect(try await h.integer("EXISTS", h.key("made-up:dead")) == 0)
        // The same checks as enqueue: a kind on a queue it does not run on, attempts that are no
        // count, a payload over the engine's limit; and a line too long to read is refused unread.
        let first = try #require(
            try JSONSerialization.jsonObject(with: Data(export.output.split(separator: "\n")[0].utf8)) as? [String: Any])
        func changed(queue: String? = nil, _ fields: [String: String]) throws -> String {
            var object = first
            if let queue { object["queue"] = queue }
            object["fields"] = (first["fields"] as? [String: String] ?? [:]).merging(fields) { $1 }
            return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        let hostile = [
            try changed(queue: "retrieve", [:]), try changed(["attempt": "-3"]), try changed(["max_attempts": "99999999999999999999"]),
            try changed(["payload": String(repeating: "x", count: 2 << 20)]),
            "{\"queue\":\"diagnostics\",\"fields\":{\"id\":\"" + String(repeating: "y", count: 9 << 20) + "\"}}",
        ]
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("dead-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: bad) }
        try Data(hostile.joined(separator: "\n").utf8).write(to: bad)
        let checked = try await run(h, ["dead", "import", "--file", bad.path])
        #expect(checked.status == 2, "\(checked.output)")
        for expected in [
            "line 1: kind 'fail' runs on queue 'diagnostics', not 'retrieve'", "line 2: 'attempt' is -3, not a whole number from 1",
            "line 3: 'max_attempts' is 99999999999999999999, not a whole number from 1", "line 4: the payload is 2097152 bytes",
            "line 5: longer than 8 MiB",
        ] {
            #expect(checked.output.contains(expected), "\(expected): \(checked.output.prefix(2000))")
        }
        #expect(try await h.integer("XLEN", h.key("retrieve:dead")) == 0)
        #expect(try await h.integer("XLEN", h.key("diagnostics:dead")) == 4)
    }

    @Test func twoTerminalsRetryingAtOnceRetryEachLetterOnce() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let total = 400
        try await makeDeadLetters(h, count: total)
        async let first = run(h, ["dead", "retry", "--all"])
        async let second = run(h, ["dead", "retry", "--all"])
        let results = try await [first, second]
        let retried = results.compactMap { result -> Int? in
            guard let range = result.output.range(of: #"retried (\d+) of"#, options: .regularExpression) else { return nil }
            return Int(result.output[range].split(separator: " ")[1])
        }
        #expect(retried.count == 2)
        #expect(retried.reduce(0, +) == total)
        #expect(try await h.integer("XLEN", h.key("diagnostics:stream")) == total)
        #expect(try await h.integer("XLEN", h.key("diagnostics:dead")) == 0)
    }

    @Test func exitCodes() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        #expect(try await run(h, ["dead", "show", "nope"]).status == 1)
        #expect(try await run(h, ["dead", "retry"]).status == 2, "neither ids nor --all")
        #expect(try await run(h, ["dead", "list", "--since", "yesterday"]).status == 2)
        #expect(try await run(h, ["dead", "list", "--since", "99999999999999999d"]).status == 2, "an age no clock reaches")
        #expect(try await run(h, ["dead", "list", "--since", "20000d"]).status == 1, "older than the epoch: everything, nothing here")
        let closed = try ClosedPort()
        #expect(try await SwitchboardProcess.run(["dead", "list", "--redis", "redis://127.0.0.1:\(closed.port)"]).status == 3)
    }

    /// Whatever sits in Redis — an entry id at the top of the range, times no calendar holds — is
    /// shown, never a trap of the command line.
    @Test func hostileNumbersInRedisAreShownNotTrappedOn() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        _ = try await h.client.send(RedisCommand("SADD", [h.key("queues"), "diagnostics"]))
        _ = try await h.client.send(
            RedisCommand("XADD", [h.key("diagnostics:stream"), "18446744073709551615-0", "id", "x", "kind", "noop"]))
        _ = try await h.client.send(
            RedisCommand(
                "XADD",
                [
                    h.key("diagnostics:dead"), "18446744073709551614-0",
                    "id", "01HOSTILE", "kind", "noop", "attempt", "9223372036854775807", "max_attempts", "1", "enqueued_at", "1e308",
                    "payload", "{}", "history", #"[{"attempt":1,"at":18446744073709551615,"error":"x"}]"#, "queue", "diagnostics",
                    "error", "boom", "first_failed_at", "-5", "last_failed_at", "99999999999999999999",
                ]))
        let queues = try await run(h, ["queues"])
        #expect(queues.status == 0 && queues.output.contains("diagnostics"), "\(queues.output)")
        let list = try await run(h, ["dead", "list"])
        #expect(list.status == 0 && list.output.contains("01HOSTILE"), "\(list.output)")
        let show = try await run(h, ["dead", "show", "01HOSTILE"])
        #expect(show.status == 0 && show.output.contains("boom"), "\(show.output)")
    }

    /// A dead letter's error, kind, id or payload carrying escape sequences (a vendor's error text,
    /// a webhook's field) reaches the operator's terminal written out, never as a sequence that
    /// retitles, clears or rewrites it.
    @Test func storedEscapeSequencesAreShownNeverSentToTheTerminal() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let title = "\u{1B}]0;owned\u{07}"
        let clear = "\u{1B}[2J\u{9B}1;1H"
        _ = try await h.client.send(RedisCommand("SADD", [h.key("queues"), "diagnostics"]))
        _ = try await h.client.send(
            RedisCommand(
                "XADD",
                [
                    h.key("diagnostics:dead"), "*",
                    "id", "01ESC\(title)", "kind", "noop\(clear)", "attempt", "1", "max_attempts", "1", "enqueued_at", "1700000000",
                    "payload", #"{"text":"\#(title)"}"#, "flow", "01ESC\(clear)", "history",
                    #"[{"attempt":1,"at":1700000000000,"error":"x\u001b[2J"}]"#,
                    "queue", "diagnostics", "error", "boom\(title)\(clear)", "first_failed_at", "1700000000", "last_failed_at",
                    "1700000000",
                ]))
        for command in [["dead", "list"], ["dead", "show", "01ESC\(title)"], ["trace", "01ESC\(clear)"]] {
            let shown = try await run(h, command)
            #expect(shown.status == 0 || command[0] == "trace", "\(command): \(shown.output)")
            #expect(
                !shown.output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B },
                "\(command): \(shown.output.debugDescription)")
            if command[1] == "show" { #expect(shown.output.contains("boom\\u{1B}]0;owned\\u{7}"), "\(shown.output.debugDescription)") }
        }
    }

    @Test func pauseAndResumeFromTheCommandLine() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let pause = try await run(h, ["queues", "pause", "diagnostics"])
        #expect(pause.status == 0 && pause.output.contains("diagnostics paused"))
        let json = try await run(h, ["queues", "show", "--json"])
        #expect(json.output.contains("\"paused\" : true"))
        #expect(try await run(h, ["queues", "resume", "diagnostics"]).output.contains("diagnostics resumed"))
        #expect(try await run(h, ["queues", "--json"]).output.contains("\"paused\" : false"))
        // A name no kind runs on is refused, not "paused"; nothing is written for it.
        for name in ["diagnostic", "", "*", "diag\u{1B}]0;owned\u{07}"] {
            let refused = try await run(h, ["queues", "pause", name])
            #expect(refused.status == 2 && refused.output.contains("no job kind of this build runs on queue"), "\(name): \(refused.output)")
            #expect(!refused.output.contains("\u{1B}"), "the terminal gets no escape sequence")
        }
        #expect(try await run(h, ["queues", "resume", "nope"]).status == 2)
    }
}

/// `queues --watch` in a real terminal (tmux): the table is redrawn in place, not scrolled.
@Suite struct WatchTests {
    func tmux(_ arguments: String...) async throws -> String {
        let result = try await ChildProcess.run("/usr/bin/tmux", arguments, timeout: .seconds(10))
        return result.stdout
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux")))
    func watchRedrawsInPlace() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let session = "sbwatch\(getpid())\(Int.random(in: 0...99999))"
        let command = ([SwitchboardProcess.executable.path, "queues", "--watch", "--interval", "0.2"] + h.common).joined(separator: " ")
        _ = try await tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "30", "env NO_COLOR=1 \(command)")
        defer { _ = try? ChildProcess("/usr/bin/tmux", ["kill-session", "-t", session]).waitBlocking(timeout: .seconds(10)) }
        #expect(await eventually { (try? await tmux("capture-pane", "-p", "-t", session))?.contains("diagnostics") == true })
        try await h.enqueue(kind: "noop", payload: "{}", count: 7)
        #expect(
            await eventually {
                let screen = (try? await tmux("capture-pane", "-p", "-t", session)) ?? ""
                return screen.split(separator: "\n").contains { $0.hasPrefix("diagnostics") && $0.contains("active  7 ") }
            })
        // Many frames later, the pane and its scrollback hold exactly one table: redrawn in place.
        let history = try await tmux("capture-pane", "-p", "-S", "-1000", "-t", session)
        #expect(history.components(separatedBy: "QUEUE  ").count - 1 == 1)
    }
}
