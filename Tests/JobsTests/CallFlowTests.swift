import Blobs
import Foundation
import Hummingbird
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// The call flow end to end against fakes (Aircall's recording host, Azure Speech, embeddings,
/// Qdrant, Chatwoot) with a real Redis and the real consumer: from the job the producer enqueues
/// for a finished call to its transcript in the knowledge collection and a note in Chatwoot.
@Suite struct CallFlowTests {
    static let mp3: [UInt8] = Array("ID3".utf8) + [UInt8](repeating: 0x42, count: 4000)
    static let transcript =
        (1...260).map { "word\($0)" }.joined(separator: " ") + " The guest asks whether the sauna can be booked for Friday."

    final class World: Sendable {
        let server: RedisServer
        let pool: RedisPool
        let broker: Broker
        let folder: URL
        let recordings: FakeService
        let speech: FakeService
        let qdrant: FakeQdrant
        let chatwoot: FakeChatwoot
        let services: FlowServices

        init(prefix: String = #function, blobs store: BlobStore? = nil, recording: @escaping @Sendable (FakeService.Received) -> Response)
            async throws
        {
            server = try await RedisServer()
            pool = RedisPool(endpoint: server.endpoint, size: 2)
            let keys = Keys(prefix: prefix.filter { $0.isLetter || $0.isNumber })
            broker = Broker(pool: pool, keys: keys)
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-call-\(UUID().uuidString)")
            recordings = try await FakeService(recording)
            speech = try await FakeService { received in
                guard received.path == "/speechtotext/transcriptions:transcribe", received.headers["ocp-apim-subscription-key"] == "az"
                else {
                    return FakeService.answer(.notFound)
                }
                return FakeService.answer(
                    .ok, #"{"durationMilliseconds":95000,"combinedPhrases":[{"text":"\#(CallFlowTests.transcript)"}]}"#)
            }
            let embeddings = try await FakeService.embeddings(vector: [0, 0, 1])
            let qdrantService: FakeService
            (qdrant, qdrantService) = try await FakeQdrant.create(apiKey: "qd")
            chatwoot = try await FakeChatwoot(
                token: "cw",
                contacts: [
                    .init(id: 7, name: "Ada", phone: "+33612345678"),
                    // Chatwoot's search matches substrings: this number contains the caller's digits but is not theirs.
                    .init(id: 8, name: "Bob", phone: "+336123456789"),
                ],
                conversations: [
                    .init(id: 50, contact: 7, lastActivityAt: 1_700_000_000),
                    .init(id: 51, contact: 7, lastActivityAt: 1_700_900_000),
                    .init(id: 60, contact: 8, lastActivityAt: 1_800_000_000),
                ])
            let http = HTTPClient()
            services = FlowServices(
                embeddings: EmbeddingsClient(baseURL: embeddings.url, apiKey: nil, model: "m", http: http),
                qdrant: QdrantClient(baseURL: qdrantService.url, apiKey: "qd", collection: "knowledge", http: http),
                completions: ChatCompletionsClient(baseURL: "http://127.0.0.1:9", apiKey: "k", model: "m", http: http),
                chatwoot: ChatwootClient(baseURL: chatwoot.url, apiToken: "cw", http: http),
                systemPrompt: "unused", keys: keys,
                speech: AzureSpeechClient(key: "az", hosts: .endpoint(speech.url), http: http),
                blobs: try store ?? BlobStore(location: folder.path),
                http: http, account: 1)
        }

        deinit {
            pool.close()
            try? FileManager.default.removeItem(at: folder)
        }

        func call(id: Int = 5511, digits: String? = "+33 6 12 34 56 78") -> CallRecording {
            CallRecording(
                event: "call.ended", callID: id, recordingURL: recordings.url + "/short/\(id)", source: "recording", direction: "inbound",
                rawDigits: digits, startedAt: 1_764_140_400, endedAt: 1_764_140_495, duration: 95, agentName: "Maya", lineName: "Front desk"
            )
        }

        func runUntilIdle() async throws {
            try await FlowRun.untilIdle(
                ["download", "call-transcribe", "vectorize", "triage"], services: services, broker: broker, pool: pool)
        }

        func dead(_ queue: String) async throws -> Int { try await pool.send("XLEN", broker.keys.dead(queue)).integer ?? -1 }
    }

    /// Aircall's short URL redirects to the MP3 itself.
    static func recordingHost(_ received: FakeService.Received) -> Response {
        if received.path.hasPrefix("/short/") {
            return FakeService.answer(.found, headers: [.location: "/files/" + received.path.dropFirst("/short/".count) + ".mp3"])
        }
        return FakeService.answer(.ok, String(decoding: mp3, as: UTF8.self), headers: [.contentType: "audio/mpeg"])
    }

    /// A recording goes from Aircall into the bucket as it downloads, in parts, never whole in
    /// memory; the stored object is exactly what was served, and the flow goes on from it.
    @Test func aRecordingIsStreamedIntoABucketInParts() async throws {
        let long = Array("ID3".utf8) + [UInt8]((0..<(300 << 10)).map { UInt8(truncatingIfNeeded: $0 / 1000) })
        let s3 = try await FakeS3(bucket: "media", accessKeyID: "AK", secret: "sk", smallestPart: 64 << 10)
        let store = try BlobStore(
            location: "s3://media/switchboard", s3: S3Settings(endpoint: s3.url, accessKeyID: "AK", secretAccessKey: "sk"),
            partSize: 64 << 10)
        let world = try await World(blobs: store) { received in
            received.path.hasPrefix("/short/")
                ? CallFlowTests.recordingHost(received)
                : Response(status: .ok, headers: [.contentType: "audio/mpeg"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: long)))
        }
        try await world.broker.add(try Flows.call.request(world.call(), dedupe: nil).envelope(), to: Flows.call.queue)
        try await world.runUntilIdle()
        let stored = try #require(s3.objects.value["switchboard/calls/5511-recording.mp3"])
        let same = stored.body == long
        #expect(same && stored.contentType == "audio/mpeg")
        let parts = s3.requests.filter { $0.method == "PUT" && $0.query.contains("partNumber=") }
        #expect(parts.count == long.count / (64 << 10) + 1, "uploaded part by part as it arrived")
        #expect(world.chatwoot.messages.count == 1, "transcribed and noted from the stored recording")
    }

    @Test func aRecordedCallIsTranscribedIndexedAndNotedOnTheCallersLatestConversation() async throws {
        let world = try await World(recording: Self.recordingHost)
        try await world.broker.add(try Flows.call.request(world.call(), dedupe: nil).envelope(), to: Flows.call.queue)
        try await world.runUntilIdle()

        #expect(world.recordings.requests.map(\.path) == ["/short/5511", "/files/5511.mp3"], "the short URL's redirect is followed")
        let upload = try #require(world.speech.requests.first)
        #expect(upload.text.contains("ID3"), "the MP3 goes to fast transcription")
        let points = world.qdrant.state.value["knowledge"]?.points ?? [:]
        #expect(points.count == TextChunks.split(Self.transcript).count && points.count > 1, "the transcript is indexed in pieces")
        for point in points.values {
            let payload = jsonFields(Array(point.payload.utf8))
            #expect(payload["account_id"] as? Int == 1 && payload["private"] as? Bool == true && payload["call_id"] as? Int == 5511)
            #expect(payload["agent"] as? String == "Maya" && payload["source"] as? String == "call")
        }
        let notes = world.chatwoot.messages
        #expect(notes.count == 1)
        let note = try #require(notes.first)
        #expect(note.conversation == 51, "the caller's most recently active conversation, not the other contact's")
        #expect(
            note.isPrivate && note.content.contains("sauna can be booked for Friday")
                && note.content.contains("Inbound call on 2025-11-26 07:00 UTC"))
        let search = try #require(world.chatwoot.requests.first { $0.path.hasSuffix("/contacts/search") })
        #expect(search.query == "q=33612345678")
        let verified = try await world.pool.send("HGETALL", world.broker.keys.verifiedGuest(account: 1, conversation: 51)).pairs
        #expect(
            verified.map(\.key) == ["phone:33612345678"] && verified.first?.value.string == "the caller's number of Aircall call 5511",
            "the caller's number reached conversation 51")
        let blobs = try FileManager.default.contentsOfDirectory(atPath: world.folder.appendingPathComponent("calls").path)
        #expect(blobs == ["5511-recording.mp3"])
    }

    @Test func theSameCallRunTwiceOverwritesItsKnowledgeAndNotesOnce() async throws {
        let world = try await World(recording: Self.recordingHost)
        try await world.broker.add(try Flows.call.request(world.call(), dedupe: nil).envelope(), to: Flows.call.queue)
        try await world.runUntilIdle()
        let points = Set((world.qdrant.state.value["knowledge"]?.points ?? [:]).keys)
        // As if the download stage ran again from the start (a reclaimed delivery).
        try await world.broker.add(try Flows.call.request(world.call(), dedupe: nil).envelope(), to: Flows.call.queue)
        try await world.runUntilIdle()
        #expect(world.speech.requests.count == 1, "the hand-off to transcribe is deduplicated per call and stage")
        #expect(Set((world.qdrant.state.value["knowledge"]?.points ?? [:]).keys) == points)
        #expect(world.chatwoot.messages.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: world.folder.appendingPathComponent("calls").path).count == 1)
    }

    @Test func anExpiredRecordingDeadLettersAndAnUnknownCallerGetsNoNote() async throws {
        let world = try await World { received in
            received.path.hasSuffix("/404")
                ? FakeService.answer(.forbidden, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
                : CallFlowTests.recordingHost(received)
        }
        try await world.broker.add(try Flows.call.request(world.call(id: 404), dedupe: nil).envelope(), to: Flows.call.queue)
        try await world.broker.add(
            try Flows.call.request(world.call(id: 77, digits: "+1 555 0100"), dedupe: nil).envelope(), to: Flows.call.queue)
        try await world.runUntilIdle()
        #expect(try await world.dead("download") == 1, "an expired URL is permanent: no retry storm")
        #expect(world.recordings.requests.filter { $0.path == "/short/404" }.count == 1)
        #expect(world.qdrant.state.value["knowledge"]?.points.count ?? 0 > 0, "the other call is indexed")
        #expect(world.chatwoot.messages.isEmpty, "no contact has the number: no note anywhere")
    }

    /// Aircall's numbers go into the agents' note as they came: any Int is written without a trap
    /// (a calendar cannot hold every one), and only a plausible time is shown as a date.
    @Test(arguments: [Int.min, -1, 0, 1_732_622_800, 99_999_999_999, Int.max])
    func hostileCallNumbersNeverTrapTheNote(_ number: Int) {
        let call = CallRecording(
            event: "call.ended", callID: 812, recordingURL: "https://x/812.mp3", source: "recording", direction: "inbound",
            rawDigits: "+33", startedAt: number, endedAt: number, duration: number, agentName: "Grace", lineName: nil)
        let note = CallFlow.noteText(CallTranscript(call: call, text: "Hello"))
        #expect(note.hasPrefix("Inbound call") && note.contains("Hello"))
        #expect(note.contains(" UTC") == (0...4_102_444_800).contains(number))
    }
}
