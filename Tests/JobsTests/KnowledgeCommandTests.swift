import Foundation
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// `switchboard knowledge` as a property manager runs it, with a real consumer of the knowledge
/// queue, against qdrant-client's local mode and a fake embeddings service that counts its calls.
@Suite(.enabled(if: LocalQdrant.available)) struct KnowledgeCommandTests {
    @Test func addListShowChangeAndRemoveADocument() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        let qdrant = try await LocalQdrant()
        let embeddings = try await FakeService.embeddings(vector: [0.5, 0.5, 0])
        let chatwoot = try await FakeChatwoot(token: "cw")
        let environment = [
            "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrant.url, "QDRANT_API_KEY": qdrant.apiKey,
            "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "CHATWOOT_URL": chatwoot.url, "CHATWOOT_API_TOKEN": "cw",
            "SYSTEM_PROMPT": "Front desk.", "CHATWOOT_ACCOUNT_ID": "1",
        ]
        let (consumer, metricsPort) = try await SwitchboardProcess.serving(environment: environment) { port in
            ["consumer"] + h.common + ["--queues", "knowledge", "--concurrency", "2", "--metrics-port", String(port)]
        }
        defer { consumer.signal(SIGTERM) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-knowledge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let manual = folder.appendingPathComponent("manual.md")
        try "# Loft\n\nCheck-in from 15:00.\n\n## Door [restricted]\n\nCode 4711.".write(to: manual, atomically: true, encoding: .utf8)

        let added = try await SwitchboardProcess.run(
            ["knowledge", "add", manual.path, "--id", "loft-manual", "--listing", "L1"] + h.common, environment: environment)
        #expect(added.status == 0, "\(added.output)\n\(consumer.log.suffix(2000))")
        #expect(added.output.contains("indexed: loft-manual (2 pieces)"), "\(added.output)")
        let scraped = try await LoopbackHTTP.send(port: metricsPort, method: "GET", path: "/metrics").text
        #expect(scraped.contains("switchboard_knowledge_sources 1") && scraped.contains("switchboard_knowledge_pieces 2"), "\(scraped)")
        let callsAfterFirst = embeddings.requests.count
        #expect(callsAfterFirst == 1, "two pieces, one batch")

        let again = try await SwitchboardProcess.run(
            ["knowledge", "add", manual.path, "--id", "loft-manual", "--listing", "L1"] + h.common, environment: environment)
        #expect(again.status == 0 && again.output.contains("unchanged: loft-manual (2 pieces)"), "\(again.output)")
        #expect(embeddings.requests.count == callsAfterFirst, "an unchanged source calls no embedding service")

        let listed = try await SwitchboardProcess.run(["knowledge", "list", "--json"] + h.common, environment: environment)
        let record = try JSONDecoder().decode(KnowledgeSource.self, from: Data(listed.output.split(separator: "\n")[0].utf8))
        #expect(record.id == "loft-manual" && record.state == .ready && record.listing == "L1" && record.livePieces == 2)

        let shown = try await SwitchboardProcess.run(["knowledge", "show", "loft-manual"] + h.common, environment: environment)
        #expect(shown.status == 0, "\(shown.output)")
        #expect(
            shown.output.contains("#0 Loft") && shown.output.contains("#1 Loft › Door [restricted]") && shown.output.contains("Code 4711"))

        try "# Loft\n\nCheck-in from 16:00.".write(to: manual, atomically: true, encoding: .utf8)
        let changed = try await SwitchboardProcess.run(
            ["knowledge", "add", manual.path, "--id", "loft-manual", "--listing", "L1"] + h.common, environment: environment)
        #expect(changed.output.contains("indexed: loft-manual (1 piece)"), "\(changed.output)")
        let client = QdrantClient(baseURL: qdrant.url, apiKey: qdrant.apiKey, collection: "knowledge", http: HTTPClient(connections: 1))
        let points = try await client.points(QdrantFilter(must: [.equals("source_id", .string("doc:loft-manual"))]))
        #expect(points.count == 1 && points[0].payload?["text"]?.string == "Check-in from 16:00.")

        let reindexed = try await SwitchboardProcess.run(["knowledge", "reindex", "loft-manual"] + h.common, environment: environment)
        #expect(reindexed.status == 0 && reindexed.output.contains("indexing: loft-manual"), "\(reindexed.output)")
        #expect(
            await eventually(timeout: .seconds(30)) {
                let listed = try? await SwitchboardProcess.run(["knowledge", "list", "--json"] + h.common, environment: environment)
                return listed?.output.contains(#""state":"ready""#) == true && embeddings.requests.count == callsAfterFirst + 2
            }, "\(consumer.log.suffix(2000))")
        let unknown = try await SwitchboardProcess.run(["knowledge", "reindex", "nope"] + h.common, environment: environment)
        #expect(unknown.status == 1 && unknown.output.contains("no knowledge source nope"), "\(unknown.output)")

        let removed = try await SwitchboardProcess.run(["knowledge", "remove", "loft-manual"] + h.common, environment: environment)
        #expect(removed.status == 0 && removed.output.contains("removed: loft-manual"), "\(removed.output)")
        #expect(try await client.points(QdrantFilter(must: [.equals("source_id", .string("doc:loft-manual"))])).isEmpty)
        let gone = try await SwitchboardProcess.run(["knowledge", "show", "loft-manual"] + h.common, environment: environment)
        #expect(gone.status == 1 && gone.output.contains("no knowledge source loft-manual"))
    }

    @Test func whatCannotBeAddedIsSaidAndNothingIsAsked() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-knowledge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fake = folder.appendingPathComponent("manual.pdf")
        try "# not a pdf".write(to: fake, atomically: true, encoding: .utf8)
        let big = folder.appendingPathComponent("big.md")
        try String(repeating: "a", count: 2_000).write(to: big, atomically: true, encoding: .utf8)
        let photo = folder.appendingPathComponent("photo.jpg")
        try Data([0xff, 0xd8, 0xff]).write(to: photo)
        for (arguments, said) in [
            ([fake.path], "not a PDF"), ([big.path], "over KNOWLEDGE_MAX_BYTES"), ([photo.path], "cannot tell what"),
            ([folder.appendingPathComponent("missing.md").path], "no such file"), (["file:///etc/passwd"], "only http and https"),
        ] {
            let run = try await SwitchboardProcess.run(
                ["knowledge", "add"] + arguments + ["--no-wait"] + h.common, environment: ["KNOWLEDGE_MAX_BYTES": "1000"])
            #expect(run.status == 1 && run.output.contains(said), "\(arguments): \(run.output)")
        }
        #expect(try await h.integer("HLEN", h.key("knowledge:sources")) == 0)
        #expect(try await h.integer("XLEN", h.key("knowledge:stream")) == 0)
    }

    /// `switchboard ask` runs the flow's retrieval and generation, posts nothing, and shows what was
    /// used, what was left out and why.
    @Test func askShowsWhatAnAnswerUsedAndLeftOutAndPostsNothing() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        let qdrant = try await LocalQdrant()
        let embeddings = try await FakeService.embeddings(vector: [0.5, 0.5, 0])
        let model = try await FakeService.chatModel(answer: "The code is 1111.")
        let chatwoot = try await FakeChatwoot(token: "cw")
        let environment = Self.settings(qdrant: qdrant, embeddings: embeddings, model: model, chatwoot: chatwoot)
        let consumer = try h.consumer(["--queues", "knowledge"], environment: environment)
        defer { consumer.signal(SIGTERM) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-ask-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (listing, code) in [("L1", "1111"), ("L2", "2222")] {
            let file = folder.appendingPathComponent("\(listing).md")
            try "# Flat \(listing)\n\n## Door [restricted]\n\nThe door code is \(code).".write(to: file, atomically: true, encoding: .utf8)
            let added = try await SwitchboardProcess.run(
                ["knowledge", "add", file.path, "--id", "flat-\(listing)", "--listing", listing] + h.common, environment: environment)
            #expect(added.status == 0, "\(added.output)\n\(consumer.log.suffix(1500))")
        }
        // Ada's confirmed stay at L1, from today, as the booking flow keeps it.
        let today = ISO8601DateFormatter().string(from: Date()).prefix(10)
        let stay =
            #"{"event":"reservation.new","reservation_id":"R1","status":"confirmed","listing_id":"L1","check_in":"\#(today)","check_out":"2099-01-01","confirmation_code":"CODE-R1","guest_phone":"+33611111111"}"#
        try await h.client.send("HSET", h.key("reservations"), "R1", stay)
        try await h.client.send("HSET", h.key("reservations:contact"), "phone:33611111111", "R1")

        let asked = try await SwitchboardProcess.run(
            ["ask", "What is the door code?", "--contact", "+33 6 11 11 11 11", "--json"] + h.common, environment: environment)
        #expect(asked.status == 0, "\(asked.output)")
        let trial = try JSONDecoder().decode(AnswerTrial.self, from: Data(asked.output.utf8))
        #expect(trial.pieces.contains { $0.source == "doc:flat-L1" && $0.restricted && $0.text.contains("1111") })
        #expect(!trial.pieces.contains { $0.text.contains("2222") })
        #expect(trial.leftOut.contains { $0.source == "doc:flat-L2" && $0.reason.contains("another listing's (L2)") })
        #expect(trial.booking?.contains("CODE-R1") == true && trial.restrictedOpen)
        #expect(trial.answer == "The code is 1111." && trial.handOver == nil)

        let stranger = try await SwitchboardProcess.run(["ask", "What is the door code?"] + h.common, environment: environment)
        #expect(stranger.status == 0, "\(stranger.output)")
        #expect(stranger.output.contains("This guest's booking: none known") && stranger.output.contains("Hands over: no"))
        #expect(stranger.output.contains("this guest has no stay") && !stranger.output.contains("The door code is 1111"))
        #expect(chatwoot.messages.isEmpty, "ask posts nothing")
        let prompts = model.requests.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(prompts.count == 2 && prompts[0].contains("1111") && !prompts[1].contains("1111"), "the model saw what each could read")
    }

    /// What agents answered in a resolved conversation is proposed, never published by itself;
    /// approved it becomes shared knowledge, rejected it is not proposed again.
    @Test func candidatesFromAResolvedConversationWaitForAPerson() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        let qdrant = try await LocalQdrant()
        let embeddings = try await FakeService.embeddings(vector: [0.5, 0.5, 0])
        let faqs =
            #"{\"faqs\": [{\"question\": \"Is there parking?\", \"answer\": \"Yes, free street parking after 19:00.\"}, {\"question\": \"What is the door code?\", \"answer\": \"It is 4711.\"}, {\"question\": \"Can I check in early?\", \"answer\": \"Ask the team the day before.\"}]}"#
        let model = try await FakeService.chatModel(answer: faqs)
        let chatwoot = try await FakeChatwoot(
            token: "cw",
            conversations: [
                .init(
                    id: 50,
                    history: [
                        .init(id: 500, content: "Hi, is there parking?", messageType: 0),
                        .init(id: 501, content: "VIP guest, be nice", messageType: 1, isPrivate: true),
                        .init(id: 502, content: "Yes, free street parking after 19:00.", messageType: 1),
                    ])
            ])
        let environment = Self.settings(qdrant: qdrant, embeddings: embeddings, model: model, chatwoot: chatwoot)
        let consumer = try h.consumer(["--queues", "knowledge"], environment: environment)
        defer { consumer.signal(SIGTERM) }
        try await h.enqueue(kind: "knowledge.candidates", payload: #"{"account_id": 1, "conversation_id": 50}"#)
        #expect(
            await eventually(timeout: .seconds(30)) { (try? await h.integer("HLEN", h.key("knowledge:candidates"))) == 2 },
            "\(consumer.log.suffix(2000))")
        let asked = try #require(model.requests.first.map { String(decoding: $0.body, as: UTF8.self) })
        #expect(asked.contains("Leave out everything about this one stay") && asked.contains("Guest: Hi, is there parking?"))
        #expect(asked.contains("Team: Yes, free street parking") && !asked.contains("VIP guest"), "never a private note")

        let listed = try await SwitchboardProcess.run(["knowledge", "candidates", "--json"] + h.common)
        let candidates = try listed.output.split(separator: "\n").map {
            try JSONDecoder().decode(KnowledgeCandidate.self, from: Data($0.utf8))
        }
        #expect(Set(candidates.map(\.question)) == ["Is there parking?", "Can I check in early?"], "the door code was dropped")
        #expect(candidates.allSatisfy { $0.conversation == 50 })
        let parking = try #require(candidates.first { $0.question == "Is there parking?" })
        let early = try #require(candidates.first { $0.question == "Can I check in early?" })

        let approved = try await SwitchboardProcess.run(
            ["knowledge", "approve", parking.id, "--answer", "Yes: free street parking after 19:00, and a garage nearby."] + h.common)
        #expect(approved.status == 0 && approved.output.contains("faq:\(parking.id)"), "\(approved.output)")
        let pool = RedisPool(endpoint: server.endpoint, size: 1)
        defer { pool.close() }
        let sources = KnowledgeSources(pool: pool, keys: Keys(prefix: h.prefix))
        #expect(await eventually(timeout: .seconds(30)) { (try? await sources.source("faq:\(parking.id)"))?.state == .ready })
        let client = QdrantClient(baseURL: qdrant.url, apiKey: qdrant.apiKey, collection: "knowledge", http: HTTPClient(connections: 1))
        let points = try await client.points(QdrantFilter(must: [.equals("source_id", .string("doc:faq:\(parking.id)"))]))
        #expect(points.count == 1 && points[0].payload?["text"]?.string?.contains("a garage nearby") == true)
        #expect(points[0].payload?["listing_id"] == nil && points[0].payload?["restricted"] == .bool(false), "shared knowledge")
        let twice = try await SwitchboardProcess.run(["knowledge", "approve", parking.id] + h.common)
        #expect(twice.status == 1 && twice.output.contains("already approved"), "\(twice.output)")

        let rejected = try await SwitchboardProcess.run(["knowledge", "reject", early.id] + h.common)
        #expect(rejected.status == 0)
        // Resolved again: nothing already approved or turned down is proposed again.
        try await h.enqueue(kind: "knowledge.candidates", payload: #"{"account_id": 1, "conversation_id": 50}"#)
        #expect(await eventually(timeout: .seconds(30)) { model.requests.count == 2 })
        // The job's entry leaves the stream once it is acknowledged: done.
        #expect(await eventually(timeout: .seconds(30)) { (try? await h.integer("XLEN", h.key("knowledge:stream"))) == 0 })
        #expect(try await h.integer("HLEN", h.key("knowledge:candidates")) == 0)
    }

    /// The consumers' chat settings, every service one of the test's.
    static func settings(qdrant: LocalQdrant, embeddings: FakeService, model: FakeService, chatwoot: FakeChatwoot) -> [String: String] {
        [
            "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrant.url, "QDRANT_API_KEY": qdrant.apiKey,
            "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "GROQ_BASE_URL": model.url + "/openai/v1",
            "CHATWOOT_URL": chatwoot.url, "CHATWOOT_API_TOKEN": "cw", "SYSTEM_PROMPT": "Front desk.", "CHATWOOT_ACCOUNT_ID": "1",
        ]
    }
}
