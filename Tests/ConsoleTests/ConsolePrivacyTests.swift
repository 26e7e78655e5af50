import Foundation
import Jobs
import Redis
import Services
import TestSupport
import Testing

/// A guest's data found and forgotten from the console's Privacy page and from the command line,
/// over real processes: a console, a consumer of the privacy queue (with Qdrant through
/// qdrant-client's local mode, a blob folder and a fake Chatwoot), and `switchboard privacy`.
@Suite(.enabled(if: LocalQdrant.available)) struct ConsolePrivacyTests {
    static let phone = "+33 6 11 11 11 11"

    /// One guest's call point, reservation, contact record and voice message.
    static func seed(_ h: ProcessHarness, qdrant: QdrantClient, blobs: URL) async throws {
        try await qdrant.ensureCollection(vectorSize: 3)
        try await qdrant.upsert([
            QdrantClient.Point(
                id: QdrantClient.pointID(for: "aircall:call:9001:recording#0"), vector: [1, 0, 0],
                payload: [
                    "account_id": .integer(1), "private": .bool(true), "source": .string("call"), "call_id": .integer(9001),
                    "source_id": .string("aircall:call:9001:recording"), "guest_keys": .array([.string("phone:33611111111")]),
                    "text": .string("Ana asked about late check-out."), "started_at": .integer(1_764_000_000),
                ])
        ])
        let stay = #"{"event":"reservation.updated","reservation_id":"R-ANA","guest_phone":"+33611111111","check_out":"2026-12-27"}"#
        try await h.client.send("HSET", h.key("reservations"), "R-ANA", stay)
        try await h.client.send("HSET", h.key("privacy:contact:1:7"), "k:phone:33611111111", "1", "c:21", "1")
        try await h.client.send("SADD", h.key("privacy:contacts"), "1:7")
        let folder = blobs.appendingPathComponent("voice/2026/12/07")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("ogg".utf8).write(to: folder.appendingPathComponent("1-21-3f2a.ogg"))
    }

    @Test func anOperatorLooksAGuestUpAndForgetsThemAndTheCommandLineDoesTheSame() async throws {
        let provider = try await FakeOpenIDProvider(users: [
            "ada": .init(password: "ada-pass", roles: ["switchboard-operator"]),
            "vic": .init(password: "vic-pass", roles: ["switchboard-viewer"]),
        ])
        let qdrantServer = try await LocalQdrant()
        let embeddings = try await FakeService.embeddings(vector: [1, 0, 0])
        let chatwoot = try await FakeChatwoot(
            token: "cw", contacts: [.init(id: 7, name: "Ana", phone: "+33611111111")], conversations: [.init(id: 21, contact: 7)])
        let blobs = FileManager.default.temporaryDirectory.appendingPathComponent("privacy-blobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: blobs) }
        let c = try await ConsoleHarness(provider: provider, token: false)
        let settings = [
            "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrantServer.url,
            "QDRANT_API_KEY": qdrantServer.apiKey,
            "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "CHATWOOT_URL": chatwoot.url, "CHATWOOT_API_TOKEN": "cw",
            "SYSTEM_PROMPT": "Front desk.", "CHATWOOT_ACCOUNT_ID": "1", "BLOB_STORE": "file://" + blobs.path,
        ]
        let consumer = try c.h.consumer(["--queues", "privacy", "--concurrency", "2"], environment: settings)
        defer { consumer.signal(SIGTERM) }
        let qdrant = QdrantClient(
            baseURL: qdrantServer.url, apiKey: qdrantServer.apiKey, collection: "knowledge", http: HTTPClient(connections: 1))
        try await Self.seed(c.h, qdrant: qdrant, blobs: blobs)
        func held() async throws -> Int { try await qdrant.points(QdrantFilter()).count }

        // A viewer neither sees the page nor can ask.
        let vic = try #require(try await c.signIn(as: "vic", password: "vic-pass").cookie("switchboard_session"))
        let vicPage = try await c.get("/privacy", cookie: vic)
        #expect(vicPage.status == 403 && vicPage.text.contains("operators only"), "\(vicPage.text)")
        let overview = try await c.get("/", cookie: vic)
        #expect(!overview.text.contains(#"href="/privacy""#), "no Privacy link for a viewer")
        let vicCSRF = try #require(ConsoleHarness.csrf(overview))
        let vicAsks = try await c.post("/privacy/find", form: [("csrf", vicCSRF), ("phone", Self.phone)], cookie: vic)
        #expect(vicAsks.status == 403)

        // An operator looks: the consumer's report lists each place.
        let ada = try #require(try await c.signIn(as: "ada", password: "ada-pass").cookie("switchboard_session"))
        let page = try await c.get("/privacy", cookie: ada)
        #expect(page.status == 200 && page.text.contains(#"id="privacy-find""#) && page.text.contains(#"href="/privacy""#))
        let csrf = try #require(ConsoleHarness.csrf(page))
        let bad = try await c.post("/privacy/find", form: [("csrf", csrf), ("phone", "12")], cookie: ada)
        #expect(bad.status == 400 && bad.text.contains("not a phone number"), "\(bad.text)")
        let asked = try await c.post("/privacy/find", form: [("csrf", csrf), ("phone", Self.phone)], cookie: ada)
        #expect(asked.status == 303, "\(asked.text)")
        let runPath = try #require(asked.headers["location"]?.split(separator: "?").first.map(String.init))
        func finished(_ path: String) async throws -> LoopbackHTTP.Reply {
            var reply = try await c.get(path, cookie: ada)
            _ = await eventually(timeout: .seconds(30)) {
                reply = (try? await c.get(path, cookie: ada)) ?? reply
                return reply.text.contains("privacy-subject")
            }
            return reply
        }
        let look = try await finished(runPath)
        #expect(look.text.contains("Held about phone …1111"), "\(look.text)\n\(consumer.log.suffix(2000))")
        for line in ["knowledge points: 1", "reservations: 1", "blobs: 1", "conversation records: 1"] {
            #expect(look.text.contains(line), "\(line)\n\(look.text)")
        }
        #expect(look.text.contains("aircall:call:9001:recording") && !look.text.contains("late check-out"))
        #expect(look.text.contains(#"id="privacy-forget""#) && look.text.contains("Chatwoot still has contact 7"))
        #expect(!look.text.contains("33611111111"), "the page never shows the identifier whole")
        #expect(try await held() == 1, "a look removes nothing")

        // Forgetting needs the confirmation; then everything goes.
        let runID = String(runPath.split(separator: "/").last ?? "")
        let unconfirmed = try await c.post("/privacy/forget", form: [("csrf", csrf), ("run", runID)], cookie: ada)
        #expect(unconfirmed.status == 400 && unconfirmed.text.contains("tick the confirmation"))
        let forget = try await c.post("/privacy/forget", form: [("csrf", csrf), ("run", runID), ("confirm", "yes")], cookie: ada)
        #expect(forget.status == 303, "\(forget.text)")
        let forgotPath = try #require(forget.headers["location"]?.split(separator: "?").first.map(String.init))
        let forgot = try await finished(forgotPath)
        #expect(forgot.text.contains("Forgotten about phone …1111") && forgot.text.contains("1 removed"), "\(forgot.text)")
        #expect(try await held() == 0)
        #expect(try await c.h.integer("HLEN", c.h.key("reservations")) == 0)
        #expect(!FileManager.default.fileExists(atPath: blobs.appendingPathComponent("voice/2026/12/07/1-21-3f2a.ogg").path))
        let again = try await c.post("/privacy/forget", form: [("csrf", csrf), ("run", runID), ("confirm", "yes")], cookie: ada)
        #expect(again.status == 404, "a look is forgotten once")
        let audited = try await c.get("/privacy", cookie: ada)
        #expect(audited.text.contains("console:ada") && audited.text.contains("privacy.forget"), "\(audited.text)")
        #expect(audited.text.contains(PrivacyRequest(phone: Self.phone, requestedBy: "").hashed) && !audited.text.contains("33611111111"))

        // The command line: nothing held now (exit 1); seeded again, forgotten with --yes (exit 0).
        let env = ["USER": "ops"]
        let nothing = try await SwitchboardProcess.run(["privacy", "find", "--phone", Self.phone] + c.h.common, environment: env)
        #expect(nothing.status == 1 && nothing.output.contains("nothing held"), "\(nothing.output)")
        try await Self.seed(c.h, qdrant: qdrant, blobs: blobs)
        let found = try await SwitchboardProcess.run(["privacy", "find", "--phone", Self.phone, "--json"] + c.h.common, environment: env)
        #expect(found.status == 0, "\(found.output)")
        let report = try JSONDecoder().decode(PrivacyReport.self, from: Data((found.output.split(separator: "\n").last ?? "").utf8))
        #expect(report.places.first { $0.place == "knowledge points" }?.held == 1)
        let unasked = try await SwitchboardProcess.run(["privacy", "forget", "--phone", Self.phone] + c.h.common, environment: env)
        #expect(unasked.status == 2 && unasked.output.contains("--yes"), "no terminal to confirm on: \(unasked.output)")
        #expect(try await held() == 1)
        // On a terminal (tmux) it shows what would go and asks: anything but yes removes nothing; yes removes it.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") {
            let session = "sbforget\(getpid())\(Int.random(in: 0...99999))"
            func tmux(_ arguments: String...) async throws -> String {
                try await ChildProcess.run("/usr/bin/tmux", arguments, timeout: .seconds(10)).stdout
            }
            func screen() async -> String { (try? await tmux("capture-pane", "-p", "-S", "-200", "-t", session)) ?? "" }
            defer { _ = try? ChildProcess("/usr/bin/tmux", ["kill-session", "-t", session]).waitBlocking(timeout: .seconds(10)) }
            let command = ([SwitchboardProcess.executable.path, "privacy", "forget", "--phone", "'\(Self.phone)'"] + c.h.common)
                .joined(separator: " ")
            _ = try await tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", "env NO_COLOR=1 \(command); sleep 30")
            let shown1 = await eventually(timeout: .seconds(30)) { await screen().contains("Type yes:") }
            let screen1 = await screen()
            #expect(shown1, "\(screen1)")
            #expect(screen1.contains("knowledge points: 1"))
            _ = try await tmux("send-keys", "-t", session, "no", "Enter")
            let shown2 = await eventually(timeout: .seconds(10)) { await screen().contains("Nothing removed.") }
            let screen2 = await screen()
            #expect(shown2, "\(screen2)")
            #expect(try await held() == 1)
            _ = try await tmux("kill-session", "-t", session)
            _ = try await tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", "env NO_COLOR=1 \(command); sleep 30")
            let shown3 = await eventually(timeout: .seconds(30)) { await screen().contains("Type yes:") }
            let screen3 = await screen()
            #expect(shown3, "\(screen3)")
            _ = try await tmux("send-keys", "-t", session, "yes", "Enter")
            let shown4 = await eventually(timeout: .seconds(30)) { await screen().contains("Forgotten about phone") }
            let screen4 = await screen()
            #expect(shown4, "\(screen4)")
            #expect(try await held() == 0)
            try await Self.seed(c.h, qdrant: qdrant, blobs: blobs)
        }
        let gone = try await SwitchboardProcess.run(["privacy", "forget", "--phone", Self.phone, "--yes"] + c.h.common, environment: env)
        #expect(gone.status == 0 && gone.output.contains("knowledge points: 1, 1 removed"), "\(gone.output)")
        #expect(try await held() == 0)
        let audit = try await c.h.client.send("XRANGE", c.h.key("audit"), "-", "+")
        #expect("\(audit)".contains("cli:ops"))
        let none = try await SwitchboardProcess.run(["privacy", "find"] + c.h.common)
        #expect(none.status == 2 && none.output.contains("name exactly one person"), "\(none.output)")

        // Retention: each setting, the oldest item held, the next run from the schedule.
        try await Self.seed(c.h, qdrant: qdrant, blobs: blobs)
        let schedule = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("schedule.json").path
        let retention = try await SwitchboardProcess.run(["privacy", "retention", "--schedule", schedule] + c.h.common)
        #expect(retention.status == 0, "\(retention.output)")
        for text in ["RETENTION_CALLS", "90d", "2025-11-24", "RETENTION_DEAD", "Next removal: 20"] {
            #expect(retention.output.contains(text), "\(text)\n\(retention.output)")
        }
        #expect(try await held() == 1, "showing retention removes nothing")
        await c.stop()
    }
}
