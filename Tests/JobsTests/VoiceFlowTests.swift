import Blobs
import Foundation
import Hummingbird
import Logging
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// The voice flow end to end against fakes (Azure Speech, embeddings, Qdrant, the chat model,
/// Chatwoot) with a real Redis and the real consumer: a spoken question, as OGG/Opus uploaded to
/// the blob store or as an MP3 attachment in Chatwoot, answered with audio and its text.
@Suite struct VoiceFlowTests {
    static let opus: [UInt8] =
        Array("OggS".utf8) + [0, 2] + [UInt8](repeating: 0, count: 22) + Array("OpusHead".utf8) + [UInt8](repeating: 7, count: 2000)
    static let mp3: [UInt8] = Array("ID3".utf8) + [UInt8](repeating: 0x55, count: 3000)

    @Test(arguments: [
        "ogg upload", "mp3 attachment", "ogg upload in a bucket", "ogg upload answered in mp3", "mp3 attachment of no known type",
    ])
    func aSpokenQuestionIsAnsweredWithAudioAndText(_ form: String) async throws {
        let server = try await RedisServer()
        let pool = RedisPool(endpoint: server.endpoint, size: 2)
        defer { pool.close() }
        let keys = Keys(prefix: "voice\(form.filter(\.isLetter))")
        let broker = Broker(pool: pool, keys: keys)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-voice-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let bucket = try await FakeS3(bucket: "media", accessKeyID: "AK", secret: "sk")
        let blobs =
            form.hasSuffix("bucket")
            ? try BlobStore(location: "s3://media/sb", s3: S3Settings(endpoint: bucket.url, accessKeyID: "AK", secretAccessKey: "sk"))
            : try BlobStore(location: folder.path)
        let speech = try await FakeService { received in
            switch received.path {
            case "/speech/recognition/conversation/cognitiveservices/v1":
                return FakeService.answer(.ok, #"{"RecognitionStatus":"Success","DisplayText":"Is breakfast included?"}"#)
            case "/speechtotext/transcriptions:transcribe":
                return FakeService.answer(.ok, #"{"durationMilliseconds":2000,"combinedPhrases":[{"text":"Is breakfast included?"}]}"#)
            case "/cognitiveservices/v1":
                return received.headers["user-agent"] == nil
                    ? FakeService.answer(.badRequest) : FakeService.answer(.ok, "OggS-spoken-answer")
            default:
                return FakeService.answer(.notFound)
            }
        }
        let attachment = try await FakeService { _ in
            FakeService.answer(.ok, String(decoding: Self.mp3, as: UTF8.self), headers: [.contentType: "audio/mpeg"])
        }
        let embeddings = try await FakeService.embeddings(vector: [1, 0, 0])
        let (_, qdrant) = try await FakeQdrant.create(apiKey: "qd")
        let model = try await FakeService { _ in
            FakeService.answer(
                .ok,
                #"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Yes, breakfast is included."},"finish_reason":"stop"}]}"#
            )
        }
        let chatwoot = try await FakeChatwoot(token: "t", conversations: [.init(id: 10)])
        let http = HTTPClient()
        let services = FlowServices(
            embeddings: EmbeddingsClient(baseURL: embeddings.url, apiKey: nil, model: "m", http: http),
            qdrant: QdrantClient(baseURL: qdrant.url, apiKey: "qd", collection: "knowledge", http: http),
            completions: ChatCompletionsClient(baseURL: model.url, apiKey: "k", model: "m", http: http),
            chatwoot: ChatwootClient(baseURL: chatwoot.url, apiToken: "t", http: http),
            systemPrompt: "Front desk.", keys: keys,
            speech: AzureSpeechClient(
                key: "az", hosts: .endpoint(speech.url), http: http,
                outputFormat: form.hasSuffix("in mp3") ? "audio-24khz-48kbitrate-mono-mp3" : "ogg-24khz-16bit-mono-opus"),
            blobs: blobs, http: http)
        try await services.qdrant.ensureCollection(vectorSize: 3)
        let voice: VoiceMessage
        if form.hasPrefix("ogg upload") {
            let blob = try blobs.create(folder: "voice", fileExtension: "ogg")
            try await blob.append(Self.opus)
            try await blob.commit()
            voice = VoiceMessage(
                accountID: 1, conversationID: 10, messageID: nil, audio: AudioSource(blob: blob.reference, contentType: "audio/ogg"),
                caption: nil)
        } else if form.hasSuffix("no known type") {
            // Chatwoot left the extension null and the URL names no file type: the download's Content-Type says it.
            voice = VoiceMessage(
                accountID: 1, conversationID: 10, messageID: 701,
                audio: AudioSource(url: attachment.url + "/blobs/redirect/eyJf", contentType: nil), caption: nil)
        } else {
            voice = VoiceMessage(
                accountID: 1, conversationID: 10, messageID: 700,
                audio: AudioSource(url: attachment.url + "/voice.mp3", contentType: "audio/mpeg"), caption: nil)
        }
        try await broker.add(try Flows.voice.request(voice, dedupe: nil).envelope(), to: Flows.voice.queue)
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let consumer = StreamConsumer(
            configuration: ConsumerConfiguration(
                queues: ["transcribe", "retrieve", "generate", "synthesize", "voice-reply"], concurrency: 8,
                promoteInterval: .milliseconds(50), fetchBlock: .milliseconds(200)),
            registry: Catalogue.registry(flows: services), broker: broker, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            let answered = await eventually(timeout: .seconds(20)) { !chatwoot.messages.isEmpty }
            consumer.stop()
            try await group.waitForAll()
            #expect(answered)
        }
        let endpoint =
            form.hasPrefix("ogg upload")
            ? "/speech/recognition/conversation/cognitiveservices/v1" : "/speechtotext/transcriptions:transcribe"
        #expect(speech.requests.first?.path == endpoint, "OGG/Opus takes the short-audio endpoint, MP3 fast transcription")
        let question = (jsonFields(try #require(model.requests.first).body)["messages"] as? [[String: String]])?.last?["content"]
        #expect(question == "Is breakfast included?")
        let reply = try #require(chatwoot.requests.first { $0.method == "POST" })
        #expect(reply.headers["content-type"]?.hasPrefix("multipart/form-data") == true)
        let body = String(decoding: reply.body, as: UTF8.self)
        #expect(
            body.contains("Yes, breakfast is included.") && body.contains("name=\"attachments[]\"") && body.contains("OggS-spoken-answer"))
        #expect(chatwoot.messages.count == 1)
        if form.hasSuffix("in mp3") {
            #expect(speech.requests.last?.headers["x-microsoft-outputformat"] == "audio-24khz-48kbitrate-mono-mp3")
            #expect(
                body.contains("filename=\"answer.mp3\"") && body.contains("Content-Type: audio/mpeg"), "the attachment is what Azure spoke")
        } else {
            #expect(body.contains("filename=\"answer.ogg\"") && body.contains("Content-Type: audio/ogg"))
        }
        if form.hasSuffix("bucket") {
            // The upload and the spoken answer both live in the bucket, the answer under one name per message.
            #expect(bucket.objects.value.keys.contains { $0.hasPrefix("sb/voice/") && $0.hasSuffix(".ogg") })
            #expect(bucket.objects.value.keys.contains { $0.hasPrefix("sb/answers/1-") })
        }
    }
}
