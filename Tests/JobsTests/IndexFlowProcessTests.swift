import Foundation
import Hummingbird
import Jobs
import Queue
import Redis
import Services
import TestSupport
import Testing

/// The call and booking flows as an operator runs them: Aircall's and Guesty's webhooks into the
/// real producer, one `switchboard consumer` process configured from the environment running every
/// stage, and the fakes of the services seeing the result.
@Suite struct IndexFlowProcessTests {
    static let guestySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    @Test func aCallAndABookingThroughTheProducerEndAsKnowledgeANoteAndTriage() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let recordings = try await FakeService { _ in FakeService.answer(.ok, "ID3-call-audio", headers: [.contentType: "audio/mpeg"]) }
        let speech = try await FakeService { received in
            received.path == "/speechtotext/transcriptions:transcribe"
                ? FakeService.answer(.ok, #"{"combinedPhrases":[{"text":"Hello, I would like to bring my dog."}]}"#)
                : FakeService.answer(.notFound)
        }
        let embeddings = try await FakeService.embeddings(vector: [1, 1, 0])
        let (qdrant, qdrantService) = try await FakeQdrant.create(apiKey: "qd")
        let chatwoot = try await FakeChatwoot(
            token: "cw", contacts: [.init(id: 7, name: "Ada Lovelace", email: "ada@example.com", phone: "+33612345678")],
            conversations: [.init(id: 51, contact: 7, lastActivityAt: 1_700_000_000, labels: ["vip"])])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let blobs = folder.appendingPathComponent("blobs").path
        let environment = [
            "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrantService.url, "QDRANT_API_KEY": "qd",
            "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "CHATWOOT_URL": chatwoot.url, "CHATWOOT_API_TOKEN": "cw",
            "SYSTEM_PROMPT": "Front desk.", "CHATWOOT_ACCOUNT_ID": "1", "TRIAGE_TEAMS": "pre-stay=3",
            "AZURE_SPEECH_KEY": "az", "AZURE_SPEECH_ENDPOINT": speech.url, "BLOB_STORE": blobs,
        ]
        let consumer = try h.consumer(
            ["--queues", "download,call-transcribe,vectorize,triage", "--concurrency", "4"], environment: environment)
        let (producer, port) = try await SwitchboardProcess.serving(environment: [
            "BLOB_STORE": blobs, "AIRCALL_WEBHOOK_TOKEN": "air-token", "GUESTY_WEBHOOK_SECRET": Self.guestySecret,
        ]) { port in
            ["producer"] + h.common + ["--host", "127.0.0.1", "--port", String(port)]
        }

        let call = """
            {"resource":"call","event":"call.ended","timestamp":1764140500,"token":"air-token","data":{"id":9001,"direction":"inbound",
             "started_at":1764140400,"ended_at":1764140495,"duration":95,"raw_digits":"+33 6 12 34 56 78","user":{"name":"Maya"},
             "number":{"name":"Front desk"},"recording":"\(recordings.url)/calls/9001.mp3"}}
            """
        let called = try await LoopbackHTTP.send(
            port: port, path: "/webhooks/aircall", headers: [("Content-Type", "application/json")], body: Array(call.utf8))
        #expect(called.status == 202, "\(called.text)")
        let booking = """
            {"event":"reservation.new","reservation":{"_id":"R-200","status":"confirmed","checkIn":"2099-03-01T15:00:00.000Z",
             "checkOut":"2099-03-04T10:00:00.000Z","guest":{"fullName":"Ada Lovelace","email":"ada@example.com"},"listing":{"title":"Sea View Loft"}}}
            """
        let booked = try await LoopbackHTTP.send(
            port: port, path: "/webhooks/guesty",
            headers: [("Content-Type", "application/json")] + SvixSigning.headers(booking, id: "msg_2001", secret: Self.guestySecret),
            body: Array(booking.utf8))
        #expect(booked.status == 202, "\(booked.text)")

        #expect(
            await eventually(timeout: .seconds(30)) { chatwoot.messages.count == 1 && chatwoot.conversations.value[51]?.team == 3 },
            "\(consumer.log.suffix(2000))")
        let note = try #require(chatwoot.messages.first)
        #expect(note.conversation == 51 && note.isPrivate && note.content.contains("bring my dog"))
        #expect(chatwoot.conversations.value[51]?.labels == ["vip", "pre-stay"])
        // A stage that failed under a loaded machine is retried with backoff: room for that.
        #expect(
            await eventually(timeout: .seconds(90)) { qdrant.state.value["knowledge"]?.points.count == 2 },
            "one point for the call's short transcript, one for the booking: \(qdrant.state.value["knowledge"]?.points.count ?? 0); \(consumer.log.suffix(2000))"
        )
        #expect(recordings.requests.map(\.path) == ["/calls/9001.mp3"])
        consumer.signal(SIGTERM)
        producer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
        #expect(await producer.waitForExit() == 0)
    }
}
