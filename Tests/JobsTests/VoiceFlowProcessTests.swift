import Foundation
import Hummingbird
import Jobs
import Queue
import Redis
import Services
import TestSupport
import Testing

/// The voice flow as an operator runs it with an S3 bucket for audio: an upload to the real
/// producer process lands in the (fake, signature-checking) bucket, a consumer process configured
/// from the environment — the bucket's secret key from a file — answers it with audio in Chatwoot.
@Suite struct VoiceFlowProcessTests {
    @Test func anUploadThroughTheProducerIsAnsweredWithAudioWhileTheAudioLivesInABucket() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let bucket = try await FakeS3(bucket: "media", accessKeyID: "AKR2", secret: "r2-secret")
        let speech = try await FakeService { received in
            switch received.path {
            case "/speech/recognition/conversation/cognitiveservices/v1":
                FakeService.answer(.ok, #"{"RecognitionStatus":"Success","DisplayText":"Can I have towels?"}"#)
            case "/cognitiveservices/v1":
                FakeService.answer(.ok, "OggS-towels-answer")
            default:
                FakeService.answer(.notFound)
            }
        }
        let embeddings = try await FakeService.embeddings(vector: [0, 0, 1])
        let (_, qdrant) = try await FakeQdrant.create(apiKey: "qd")
        try await QdrantClient(baseURL: qdrant.url, apiKey: "qd", collection: "knowledge", http: HTTPClient()).ensureCollection(
            vectorSize: 3)
        let model = try await FakeService { _ in
            FakeService.answer(
                .ok,
                #"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Fresh towels are on their way."},"finish_reason":"stop"}]}"#
            )
        }
        let chatwoot = try await FakeChatwoot(token: "cw", conversations: [.init(id: 44, contact: 7, lastActivityAt: 1)])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-voicebucket-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let secretFile = folder.appendingPathComponent("r2_secret")
        try "r2-secret\n".write(to: secretFile, atomically: true, encoding: .utf8)
        let store = [
            "BLOB_STORE": "s3://media/switchboard", "BLOB_S3_ENDPOINT": bucket.url, "BLOB_S3_ACCESS_KEY_ID": "AKR2",
            "BLOB_S3_SECRET_ACCESS_KEY_FILE": secretFile.path,
        ]
        let environment = store.merging([
            "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrant.url, "QDRANT_API_KEY": "qd",
            "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "GROQ_BASE_URL": model.url, "CHATWOOT_URL": chatwoot.url,
            "CHATWOOT_API_TOKEN": "cw", "SYSTEM_PROMPT": "Front desk.", "AZURE_SPEECH_KEY": "az", "AZURE_SPEECH_ENDPOINT": speech.url,
        ]) { $1 }
        // Split as stack.yml splits them: the speech service has Azure and the bucket; the llm
        // service, which generates the answer, has neither, yet the answer to a voice message is
        // spoken (the generate stage once checked its own consumer for Azure and answered in text).
        let consumer = try h.consumer(["--queues", "transcribe,synthesize,voice-reply", "--concurrency", "8"], environment: environment)
        let chatOnly = environment.filter { !$0.key.hasPrefix("AZURE_") && !$0.key.hasPrefix("BLOB_") }
        let llm = try h.consumer(["--queues", "retrieve,generate,reply", "--concurrency", "8"], environment: chatOnly)
        defer { if llm.isRunning { llm.signal(SIGKILL) } }
        let (producer, port) = try await SwitchboardProcess.serving(environment: store.merging(["VOICE_UPLOAD_TOKEN": "voice"]) { $1 }) {
            port in
            ["producer"] + h.common + ["--host", "127.0.0.1", "--port", String(port)]
        }
        let audio =
            Array("OggS".utf8) + [0, 2] + [UInt8](repeating: 0, count: 22) + Array("OpusHead".utf8) + [UInt8](repeating: 5, count: 30_000)
        let uploaded = try await LoopbackHTTP.send(
            port: port, path: "/voice?account_id=1&conversation_id=44",
            headers: [("Authorization", "Bearer voice"), ("Content-Type", "audio/ogg")], body: audio)
        #expect(uploaded.status == 202, "\(uploaded.text)")
        #expect(
            await eventually(timeout: .seconds(30)) { chatwoot.messages.count == 1 },
            "\(consumer.log.suffix(2000))\n\(llm.log.suffix(2000))")
        #expect(chatwoot.messages.first?.multipart == true && chatwoot.messages.first?.conversation == 44)
        let reply = try #require(chatwoot.requests.last { $0.path.hasSuffix("/messages") })
        #expect(reply.text.contains("Fresh towels are on their way.") && reply.text.contains("OggS-towels-answer"))
        let objects = bucket.objects.value
        #expect(objects.contains { $0.key.hasPrefix("switchboard/voice/") && $0.value.body == audio }, "the upload is in the bucket, whole")
        #expect(objects.keys.contains { $0.hasPrefix("switchboard/answers/") })
        #expect(bucket.requests.allSatisfy { $0.headers["authorization"]?.contains("Credential=AKR2/") == true })
        consumer.signal(SIGTERM)
        llm.signal(SIGTERM)
        producer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
        #expect(await llm.waitForExit() == 0)
        #expect(await producer.waitForExit() == 0)
    }
}
