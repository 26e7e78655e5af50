import Foundation
import TestSupport
import Testing

/// The console in Debian's chromium, driven by selenium (Browser/walkthrough.py): an operator
/// signs in at the OpenID provider, retries a dead letter and sees its job done and the action
/// audited, uploads a house manual on the Knowledge page; a viewer finds no button and a forged POST refused. Screenshots at a laptop's and a
/// phone's width go to .build/test-output/console.
@Suite(.serialized) struct ConsoleBrowserTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var browserInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
            && (try? ChildProcess.runBlocking("/usr/bin/python3", ["-c", "import selenium"]).status) == 0
    }

    @Test(.enabled(if: browserInstalled)) func anOperatorAndAViewerInARealBrowser() async throws {
        let provider = try await FakeOpenIDProvider(users: [
            "ada": .init(password: "ada-pass", roles: ["switchboard-operator"]),
            "vic": .init(password: "vic-pass", roles: ["switchboard-viewer"]),
        ])
        let c = try await ConsoleHarness(provider: provider, token: false, arguments: ["--refresh", "2"])
        // Two dead letters of a job that succeeds when run again (imported as an operator restores them).
        let record = c.h.key("browser-runs")
        let now = Int(Date().timeIntervalSince1970 * 1000)
        let retryJob = "01KBROWSERRETRY0000000000A"
        let keptJob = "01KBROWSERKEPT00000000000B"
        let lines =
            [retryJob, keptJob].map { id in
                let payload = #"{\"ms\": 1, \"record\": \"\#(record)\"}"#
                return
                    #"{"queue": "diagnostics", "fields": {"id": "\#(id)", "kind": "sleep", "attempt": "3", "max_attempts": "3", "enqueued_at": "\#(now)", "payload": "\#(payload)", "error": "upstream answered 503 (attempt 3 of 3)", "first_failed_at": "\#(now)", "last_failed_at": "\#(now)"}}"#
            }.joined(separator: "\n") + "\n"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("letters-\(UUID().uuidString).jsonl")
        try lines.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let imported = try await SwitchboardProcess.run(["dead", "import", "--file", file.path] + c.h.common)
        #expect(imported.status == 0, "\(imported.output)")
        let consumer = try c.h.consumer(["--queues", "diagnostics"])
        // An hour of guests' traffic in the per-minute counts, so the screenshots' charts have a shape.
        for (queue, scale) in [("retrieve", 40), ("generate", 38), ("reply", 37), ("transcribe", 9), ("vectorize", 14)] {
            try await c.seedMinutes(
                queue, processed: { ago in scale + Int(Double(scale) * 0.6 * sin(Double(ago) / 7)) },
                failed: { ago in ago % 17 == 0 ? 3 : ago % 5 == 0 ? 1 : 0 })
        }
        // Guests' messages waiting on a queue no consumer reads here: the overview marks it.
        try await c.h.enqueue(kind: "chat.generate", payload: "{}", count: 12)

        let manual = FileManager.default.temporaryDirectory.appendingPathComponent("browser-\(UUID().uuidString)/house-manual.md")
        try FileManager.default.createDirectory(at: manual.deletingLastPathComponent(), withIntermediateDirectories: true)
        try "# Loft\n\nCheck-in from 15:00.\n\n## Door [restricted]\n\nCode 4711.\n".write(to: manual, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: manual.deletingLastPathComponent()) }
        let shots = Self.repository.appendingPathComponent(".build/test-output/console")
        try? FileManager.default.removeItem(at: shots)
        let walk = try await ChildProcess.run(
            "/usr/bin/python3",
            [
                Self.repository.appendingPathComponent("Tests/ConsoleTests/Browser/walkthrough.py").path,
                "--console", "http://127.0.0.1:\(c.port)", "--shots", shots.path, "--retry-job", retryJob, "--kept-job", keptJob,
                "--manual", manual.path,
            ], timeout: .seconds(240))
        #expect(walk.status == 0, "\(walk.stdout)\(walk.stderr)\nconsole: \(c.console.log.suffix(3000))")
        print("console screenshots in \(shots.path)")
        // What the browser did, as Redis has it: the job ran once, the other letter stayed.
        #expect(try await c.h.client.send("HGET", record, retryJob).integer == 1)
        #expect(try await c.h.integer("XLEN", c.h.key("diagnostics:dead")) == 1)
        // The upload as the browser encoded it: the file's text, for the listing typed, waiting for a consumer.
        let uploaded = try #require(try await c.h.client.send("HGET", c.h.key("knowledge:sources"), "house-manual.md").string)
        #expect(uploaded.contains(#""listing":"L1""#) && uploaded.contains(#""state":"indexing""#), "\(uploaded)")
        #expect(try await c.h.integer("XLEN", c.h.key("knowledge:stream")) == 1)
        for name in ["overview-laptop", "overview-phone", "dead-letter-laptop", "audit-laptop", "dead-letters-viewer", "knowledge-laptop"] {
            #expect(FileManager.default.fileExists(atPath: shots.appendingPathComponent("\(name).png").path), "\(name).png")
        }
        consumer.signal(SIGTERM)
        _ = await consumer.waitForExit()
        await c.stop()
    }
}
