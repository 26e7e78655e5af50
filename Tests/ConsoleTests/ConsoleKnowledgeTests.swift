import Foundation
import Jobs
import Redis
import Services
import TestSupport
import Testing

/// The Knowledge page over real HTTP: a console process and a consumer of the knowledge queue
/// against a real Redis, qdrant-client's local mode and fakes of the embeddings service, the
/// model and Chatwoot. Uploads are multipart bodies as browsers write them.
@Suite(.enabled(if: LocalQdrant.available)) struct ConsoleKnowledgeTests {
    @Test func anOperatorAddsTriesReindexesApprovesAndRemovesKnowledge() async throws {
        let qdrant = try await LocalQdrant()
        let embeddings = try await FakeService.embeddings(vector: [0.5, 0.5, 0])
        let model = try await FakeService.chatModel(answer: "Check-in is from 15:00.")
        let chatwoot = try await FakeChatwoot(token: "cw")
        let c = try await ConsoleHarness(extra: ["KNOWLEDGE_MAX_BYTES": "4000"])
        let settings = [
            "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrant.url, "QDRANT_API_KEY": qdrant.apiKey,
            "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "GROQ_BASE_URL": model.url + "/openai/v1",
            "CHATWOOT_URL": chatwoot.url, "CHATWOOT_API_TOKEN": "cw", "SYSTEM_PROMPT": "Front desk.", "CHATWOOT_ACCOUNT_ID": "1",
        ]
        let consumer = try c.h.consumer(["--queues", "knowledge", "--concurrency", "2"], environment: settings)
        defer { consumer.signal(SIGTERM) }
        let points = QdrantClient(baseURL: qdrant.url, apiKey: qdrant.apiKey, collection: "knowledge", http: HTTPClient(connections: 1))
        let cookie = try await c.signInWithToken()
        let empty = try await c.get("/knowledge", cookie: cookie)
        #expect(empty.status == 200 && empty.text.contains("No knowledge yet"), "\(empty.text)")
        let csrf = try #require(ConsoleHarness.csrf(empty))
        func source(_ id: String) async throws -> KnowledgeSource? {
            try await c.h.client.send("HGET", c.h.key("knowledge:sources"), id).string.map {
                try JSONDecoder().decode(KnowledgeSource.self, from: Data($0.utf8))
            }
        }
        func ready(_ id: String, after version: String? = nil) async -> Bool {
            await eventually(timeout: .seconds(30)) {
                guard let found = try? await source(id) else { return false }
                return found.state == .ready && found.liveVersion != version
            }
        }
        let manual = "# Loft\n\nCheck-in from 15:00.\n\n## Door [restricted]\n\nCode 4711."

        // Uploaded, it is indexed by the consumer: two pieces, one embeddings call.
        let added = try await Self.upload(
            c, cookie: cookie, fields: [("csrf", csrf), ("id", ""), ("listing", "L1")], file: ("manual.md", Array(manual.utf8)))
        #expect(added.status == 303 && Self.notice(added).hasPrefix("indexing manual.md"), "\(added.headers)\n\(added.text)")
        #expect(await ready("manual.md"), "\(consumer.log.suffix(2000))")
        let first = try #require(try await source("manual.md"))
        #expect(first.listing == "L1" && first.livePieces == 2 && first.origin == "upload manual.md" && first.format == .markdown)
        #expect(embeddings.requests.count == 1)
        let page = try await c.get("/knowledge", cookie: cookie)
        #expect(page.text.contains(#"data-source="manual.md""#) && page.text.contains("L1"), "\(page.text)")

        // The same document again asks for nothing.
        let again = try await Self.upload(
            c, cookie: cookie, fields: [("csrf", csrf), ("listing", "L1")], file: ("manual.md", Array(manual.utf8)))
        #expect(Self.notice(again).hasPrefix("unchanged: manual.md"), "\(again.headers)")
        #expect(embeddings.requests.count == 1)

        // Refused, nothing added: no CSRF token, not what the name says, over the bound, no file, no sign-in.
        let forged = try await Self.upload(c, cookie: cookie, fields: [("id", "forged")], file: ("x.md", Array("# x\n\ny".utf8)))
        #expect(forged.status == 403 && forged.text.contains("CSRF"), "\(forged.text)")
        let fakePDF = try await Self.upload(
            c, cookie: cookie, fields: [("csrf", csrf)], file: ("manual.pdf", Array("# not a pdf".utf8)))
        #expect(fakePDF.status == 400 && fakePDF.text.contains("is not a PDF"), "\(fakePDF.text)")
        let big = try await Self.upload(
            c, cookie: cookie, fields: [("csrf", csrf)], file: ("big.md", Array(String(repeating: "a", count: 5_000).utf8)))
        #expect(big.status == 400 && big.text.contains("KNOWLEDGE_MAX_BYTES"), "\(big.text)")
        let none = try await Self.upload(c, cookie: cookie, fields: [("csrf", csrf)], file: nil)
        #expect(none.status == 400 && none.text.contains("choose a document"), "\(none.text)")
        let anonymous = try await Self.upload(c, cookie: nil, fields: [("csrf", csrf)], file: ("y.md", Array("# y\n\nz".utf8)))
        #expect(anonymous.status == 401)
        #expect(try await c.h.integer("HLEN", c.h.key("knowledge:sources")) == 1)

        // Tried as the team: the consumer answers; the page shows what was retrieved and the answer.
        let tried = try await c.post(
            "/knowledge/try", form: [("csrf", csrf), ("question", "When is check-in?"), ("audience", "team")], cookie: cookie)
        #expect(tried.status == 303, "\(tried.text)")
        let trialPath = try #require(tried.headers["location"]?.split(separator: "?").first.map(String.init))
        #expect(trialPath.hasPrefix("/knowledge/trials/"))
        var trial = try await c.get(trialPath, cookie: cookie)
        #expect(
            await eventually(timeout: .seconds(30)) {
                trial = (try? await c.get(trialPath, cookie: cookie)) ?? trial
                return trial.text.contains("trial-answer")
            }, "\(trial.text)\n\(consumer.log.suffix(2000))")
        #expect(trial.text.contains("Check-in is from 15:00.") && trial.text.contains("doc:manual.md"), "\(trial.text)")
        #expect(model.requests.contains { String(decoding: $0.body, as: UTF8.self).contains("When is check-in?") })
        let badQuestion = try await c.post("/knowledge/try", form: [("csrf", csrf), ("question", "  ")], cookie: cookie)
        #expect(badQuestion.status == 400 && badQuestion.text.contains("ask a question"))
        let unknownTrial = try await c.get("/knowledge/trials/0000-ffff", cookie: cookie)
        #expect(unknownTrial.text.contains("trial-waiting"), "an outcome not (yet) kept reads as waiting")

        // Re-indexed: a new version from the pieces guests read, embedded again; the old one gone.
        let callsBefore = embeddings.requests.count
        let reindexed = try await c.post("/knowledge/reindex", form: [("csrf", csrf), ("id", "manual.md")], cookie: cookie)
        #expect(reindexed.status == 303 && Self.notice(reindexed).hasPrefix("indexing manual.md again"))
        #expect(await ready("manual.md", after: first.liveVersion), "\(consumer.log.suffix(2000))")
        #expect(embeddings.requests.count == callsBefore + 1, "the two pieces again, in one call")
        let shown = try await points.points(QdrantFilter(must: [.equals("source_id", .string("doc:manual.md"))]))
        let second = try #require(try await source("manual.md"))
        #expect(shown.count == 2 && shown.allSatisfy { $0.payload?["version"]?.string == second.liveVersion })
        #expect(shown.contains { $0.payload?["restricted"] == .bool(true) && $0.payload?["text"]?.string == "Code 4711." })

        // A candidate approved with a person's edit becomes shared knowledge; another is turned down.
        for (id, question) in [("a1b2c3d4e5f6", "Is there parking?"), ("0f0f0f0f0f0f", "Can I check in early?")] {
            let record =
                #"{"id":"\#(id)","question":"\#(question)","answer":"Ask us.","account":1,"conversation":50,"proposed":"2026-12-07T00:00:00Z"}"#
            try await c.h.client.send("HSET", c.h.key("knowledge:candidates"), id, record)
        }
        let listed = try await c.get("/knowledge", cookie: cookie)
        #expect(listed.text.contains("Is there parking?") && listed.text.contains(#"id="candidate-count">2<"#), "\(listed.text)")
        let approved = try await c.post(
            "/knowledge/approve",
            form: [("csrf", csrf), ("id", "a1b2c3d4e5f6"), ("question", "Is there parking?"), ("answer", "Yes, a garage on the corner.")],
            cookie: cookie)
        #expect(approved.status == 303 && Self.notice(approved).hasPrefix("approved: faq:a1b2c3d4e5f6"), "\(approved.text)")
        #expect(await ready("faq:a1b2c3d4e5f6"), "\(consumer.log.suffix(2000))")
        let faq = try await points.points(QdrantFilter(must: [.equals("source_id", .string("doc:faq:a1b2c3d4e5f6"))]))
        #expect(faq.count == 1 && faq[0].payload?["text"]?.string == "Yes, a garage on the corner.")
        let twice = try await c.post("/knowledge/approve", form: [("csrf", csrf), ("id", "a1b2c3d4e5f6")], cookie: cookie)
        #expect(twice.status == 404 && twice.text.contains("already approved"), "\(twice.text)")
        let rejected = try await c.post("/knowledge/reject", form: [("csrf", csrf), ("id", "0f0f0f0f0f0f")], cookie: cookie)
        #expect(rejected.status == 303)
        #expect(try await c.h.client.send("SISMEMBER", c.h.key("knowledge:rejected"), "0f0f0f0f0f0f").integer == 1)
        #expect(try await c.h.integer("HLEN", c.h.key("knowledge:candidates")) == 0)

        // Removed: the record at once, its pieces by the consumer.
        let removed = try await c.post("/knowledge/remove", form: [("csrf", csrf), ("id", "manual.md")], cookie: cookie)
        #expect(removed.status == 303 && Self.notice(removed).hasPrefix("removed manual.md"))
        #expect(try await source("manual.md") == nil)
        #expect(
            await eventually(timeout: .seconds(30)) {
                (try? await points.points(QdrantFilter(must: [.equals("source_id", .string("doc:manual.md"))])).isEmpty) == true
            }, "\(consumer.log.suffix(2000))")
        let gone = try await c.post("/knowledge/remove", form: [("csrf", csrf), ("id", "manual.md")], cookie: cookie)
        #expect(gone.status == 404)

        // Every action in the audit, with its target.
        let audit = try await c.get("/audit", cookie: cookie)
        for action in ["knowledge.add", "knowledge.try", "knowledge.reindex", "knowledge.approve", "knowledge.reject", "knowledge.remove"] {
            #expect(audit.text.contains(action), "\(action) is not in the audit")
        }
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
        await c.stop()
    }

    /// The answers' tally as the flows keep it, and what a page prints of a source's id and a
    /// candidate escaped: an id is the operator's text, a candidate the model's.
    @Test func whatThePageShowsIsEscaped() async throws {
        let c = try await ConsoleHarness()
        let cookie = try await c.signInWithToken()
        let csrf = try #require(ConsoleHarness.csrf(try await c.get("/knowledge", cookie: cookie)))
        let added = try await Self.upload(
            c, cookie: cookie, fields: [("csrf", csrf), ("id", "<img src=x onerror=alert(1)>")], file: ("a.txt", Array("Quiet hours.".utf8))
        )
        #expect(added.status == 303, "\(added.text)")
        let record =
            #"{"id":"abcdefabcdef","question":"<script>alert(2)</script>","answer":"x","account":1,"conversation":5,"proposed":"t"}"#
        try await c.h.client.send("HSET", c.h.key("knowledge:candidates"), "abcdefabcdef", record)
        let today = Date().formatted(.iso8601.year().month().day().dateSeparator(.dash))
        try await c.h.client.send("HSET", c.h.key("assistant:answers:\(today)"), "guest answered", "5", "team handed_over_asked", "2")
        let page = try await c.get("/knowledge", cookie: cookie)
        #expect(page.text.contains(#"<tr data-audience="guest"><td>guest</td><td class="n">5</td><td class="n">0</td>"#), "\(page.text)")
        #expect(
            page.text.contains(
                #"<tr data-audience="team"><td>team</td><td class="n">0</td><td class="n">0</td><td class="n">0</td><td class="n">2</td>"#))
        #expect(!page.text.contains("<img src=x") && page.text.contains("&lt;img src=x onerror=alert(1)&gt;"), "\(page.text)")
        #expect(!page.text.contains("<script>alert(2)") && page.text.contains("&lt;script&gt;alert(2)"))
        #expect(page.text.contains("no consumer serves the knowledge queue"))
        await c.stop()
    }

    /// A multipart/form-data POST of `fields` and one file, as a browser sends the upload form.
    static func upload(
        _ c: ConsoleHarness, cookie: String?, fields: [(String, String)], file: (name: String, bytes: [UInt8])?
    ) async throws -> LoopbackHTTP.Reply {
        let boundary = "----SwitchboardBoundary7MA4YWxkTrZu0gW"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"document\"; filename=\"\(file?.name ?? "")\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                .utf8)
        body += (file?.bytes ?? []) + Array("\r\n--\(boundary)--\r\n".utf8)
        return try await LoopbackHTTP.send(
            port: c.port, path: "/knowledge/add",
            headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")]
                + (cookie.map { [("Cookie", "switchboard_session=\($0)")] } ?? []), body: body)
    }

    /// The notice a redirect carries.
    static func notice(_ reply: LoopbackHTTP.Reply) -> String {
        guard let location = reply.headers["location"], let components = URLComponents(string: location) else { return "" }
        return components.queryItems?.first { $0.name == "notice" }?.value ?? ""
    }
}
