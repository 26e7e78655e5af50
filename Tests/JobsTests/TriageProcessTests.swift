import Foundation
import Hummingbird
import Jobs
import Queue
import Redis
import Services
import TestSupport
import Testing

/// Every conversation triaged as an operator runs it: Guesty's and Chatwoot's webhooks into the
/// real producer, a `switchboard consumer` process on `vectorize` and `triage`, the fake Chatwoot
/// seeing the labels and teams.
@Suite struct TriageProcessTests {
    @Test func newConversationsAreTriagedByTheirGuestsStayOrAsInquiriesOnce() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let embeddings = try await FakeService.embeddings(vector: [0, 1, 0])
        let (_, qdrantService) = try await FakeQdrant.create(apiKey: "qd")
        let chatwoot = try await FakeChatwoot(
            token: "cw",
            contacts: [
                .init(id: 7, name: "Ada Lovelace", email: "ada@example.com"),
                .init(id: 8, name: "Someone", email: "someone@example.org"),
            ],
            conversations: [.init(id: 51, contact: 7, labels: ["vip"])])
        let consumer = try h.consumer(
            ["--queues", "vectorize,triage"],
            environment: [
                "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrantService.url, "QDRANT_API_KEY": "qd",
                "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "CHATWOOT_URL": chatwoot.url, "CHATWOOT_API_TOKEN": "cw",
                "SYSTEM_PROMPT": "Front desk.", "CHATWOOT_ACCOUNT_ID": "1", "TRIAGE_TEAMS": "pre-stay=3,inquiry=2",
                "TRIAGE_TIME_ZONE": "Europe/Paris",
            ])
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        let (producer, port) = try await SwitchboardProcess.serving(environment: [
            "GUESTY_WEBHOOK_SECRET": IndexFlowProcessTests.guestySecret
        ]) { port in
            ["producer"] + h.common + ["--host", "127.0.0.1", "--port", String(port)]
        }
        defer { if producer.isRunning { producer.signal(SIGKILL) } }
        func chatwootEvent(_ body: String) async throws -> LoopbackHTTP.Reply {
            try await LoopbackHTTP.send(
                port: port, path: "/webhooks/chatwoot", headers: [("Content-Type", "application/json")], body: Array(body.utf8))
        }
        func created(_ conversation: Int, email: String) -> String {
            #"{"event":"conversation_created","id":\#(conversation),"account_id":1,"inbox_id":1,"status":"open","labels":[],"meta":{"sender":{"id":7,"email":"\#(email)","type":"contact"},"assignee":null,"team":null}}"#
        }

        // A confirmed stay next week (far enough in the future to be pre-stay on any machine's clock).
        let booking = """
            {"event":"reservation.new","reservation":{"_id":"R-300","status":"confirmed","checkIn":"2099-03-01T15:00:00.000Z",
             "checkOut":"2099-03-04T10:00:00.000Z","guest":{"fullName":"Ada Lovelace","email":"ada@example.com"},"listing":{"title":"Sea View Loft"}}}
            """
        let booked = try await LoopbackHTTP.send(
            port: port, path: "/webhooks/guesty",
            headers: [("Content-Type", "application/json")]
                + SvixSigning.headers(booking, id: "msg_3001", secret: IndexFlowProcessTests.guestySecret),
            body: Array(booking.utf8))
        #expect(booked.status == 202)
        #expect(await eventually(timeout: .seconds(30)) { chatwoot.conversations.value[51]?.team == 3 }, "\(consumer.log.suffix(2000))")

        // Ada opens a new conversation; a stranger does too.
        chatwoot.conversations.withLock {
            $0[52] = .init(id: 52, contact: 7, labels: ["vip"])
            $0[53] = .init(id: 53, contact: 8, labels: ["late-arrival"])
        }
        #expect(try await chatwootEvent(created(52, email: "Ada@Example.com")).status == 202)
        #expect(try await chatwootEvent(created(53, email: "someone@example.org")).status == 202)
        #expect(
            await eventually(timeout: .seconds(30)) {
                chatwoot.conversations.value[52]?.team == 3 && chatwoot.conversations.value[53]?.team == 2
            }, "\(consumer.log.suffix(2000))")
        #expect(chatwoot.conversations.value[52]?.labels == ["vip", "pre-stay"], "the agents' label kept")
        #expect(chatwoot.conversations.value[53]?.labels == ["late-arrival", "inquiry"])
        // Chatwoot delivers again, and the conversation's first message arrives: neither triages twice.
        let again = try await chatwootEvent(created(52, email: "ada@example.com"))
        #expect(again.status == 200, "\(again.text)")
        #expect(await eventually(timeout: .seconds(10)) { (try? await h.integer("XLEN", h.key("triage:stream"))) == 0 })
        let writes = chatwoot.requests.filter { $0.method == "POST" && ($0.path.hasSuffix("/labels") || $0.path.hasSuffix("/assignments")) }
        #expect(writes.count == 2 + 2 + 2, "one label write and one assignment per conversation: \(writes.map(\.path))")
        consumer.signal(SIGTERM)
        producer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
        #expect(await producer.waitForExit() == 0)
    }
}
