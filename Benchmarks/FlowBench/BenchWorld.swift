import Blobs
import Foundation
import Hummingbird
import Jobs
import Logging
import Producer
import Prometheus
import Queue
import Redis
import Services
import TestSupport

/// What one flow's delivery is: how it is sent, how many stages it runs, and which request to the
/// fake Chatwoot ends it.
struct Scenario: Sendable {
    let stages: Int
    let send: @Sendable (BenchWorld, Int) async throws -> Void
    let isLast: @Sendable (FakeService.Received) -> Bool
}

/// Redis, the fakes of every service, the producer and one consumer running every flow's queues,
/// all on loopback in this process (Redis in its own).
final class BenchWorld: Sendable {
    static let guestySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    let redis: RedisServer
    let pool: RedisPool
    let folder: URL
    let fakes: [FakeService]
    let chatwoot: FakeChatwoot
    let port: Int
    let consumer: StreamConsumer
    let tasks: LockedValue<[Task<Void, any Error>]>
    let bookingsSent = LockedValue(0)

    init(serviceDelay delay: Duration) async throws {
        redis = try await RedisServer()
        pool = RedisPool(endpoint: redis.endpoint, size: 4)
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-flowbench-\(UUID().uuidString)")
        let keys = Keys(prefix: "flowbench")
        let embeddings = try await FakeService.embeddings(vector: [1, 0, 0], delay: delay)
        let (_, qdrant) = try await FakeQdrant.create(apiKey: "qd", delay: delay)
        let model = try await FakeService.chatModel(answer: "Breakfast is served from 7 to 10.", delay: delay)
        let speech = try await FakeService.azureSpeech(
            heard: "When is breakfast?", transcribed: "Hello, this is Ada, I would like to arrive early on Friday.",
            delay: delay)
        let recordings = try await FakeService(delay: delay) { _ in
            FakeService.answer(.ok, "ID3-recording", headers: [.contentType: "audio/mpeg"])
        }
        chatwoot = try await FakeChatwoot(
            token: "cw", contacts: [.init(id: 7, name: "Ada", email: "ada@example.com", phone: "+33612345678")],
            conversations: [.init(id: 51, contact: 7, lastActivityAt: 1_700_000_000)], delay: delay)
        fakes = [embeddings, qdrant, model, speech, recordings, chatwoot.service]
        let http = HTTPClient(connections: 16)
        let blobs = try BlobStore(location: folder.path)
        let services = FlowServices(
            embeddings: EmbeddingsClient(baseURL: embeddings.url, apiKey: nil, model: "m", http: http),
            qdrant: QdrantClient(baseURL: qdrant.url, apiKey: "qd", collection: "knowledge", http: http),
            completions: ChatCompletionsClient(baseURL: model.url, apiKey: "k", model: "m", http: http),
            chatwoot: ChatwootClient(baseURL: chatwoot.url, apiToken: "cw", http: http), systemPrompt: "Front desk.", keys: keys,
            speech: AzureSpeechClient(key: "az", hosts: .endpoint(speech.url), http: http), blobs: blobs, http: http,
            account: 1, teams: [.preStay: 3, .duringStay: 4, .postStay: 5, .inquiry: 2])
        try await services.qdrant.ensureCollection(vectorSize: 3)
        try await services.qdrant.upsert([
            .init(
                id: QdrantClient.pointID(for: "kb:breakfast"), vector: [1, 0, 0],
                payload: ["account_id": .integer(1), "text": .string("Breakfast 7:00-10:00 in the lobby.")])
        ])

        var logger = Logger(label: "flowbench")
        logger.logLevel = .error
        let listening = LockedValue<Int?>(nil)
        let configuration = ProducerConfiguration(
            redis: redis.endpoint, prefix: keys.prefix, host: "127.0.0.1", port: 0,
            aircallToken: "air", guestySecret: Self.guestySecret, voiceUploadToken: "voice",
            blobStore: folder.path, highWater: 0)
        let app = try ProducerRole.application(
            configuration, pool: pool, metrics: PrometheusCollectorRegistry(), logger: logger,
            onListening: { listening.set($0) })
        consumer = StreamConsumer(
            configuration: ConsumerConfiguration(
                queues: [
                    "retrieve", "generate", "reply", "transcribe", "synthesize", "voice-reply",
                    "download", "call-transcribe", "vectorize", "triage",
                ], concurrency: 16),
            registry: Catalogue.registry(flows: services), broker: Broker(pool: pool, keys: keys), logger: logger)
        let consumer = consumer
        tasks = LockedValue([Task { try await app.run() }, Task { try await consumer.run() }])
        guard await eventually(timeout: .seconds(10), { listening.value != nil }), let port = listening.value else {
            throw TestFailure("the producer did not start")
        }
        self.port = port
    }

    /// Stops everything it started, the redis-server included: the benchmark ends with `exit`,
    /// so nothing it holds is ever released (each run used to leave a redis-server behind).
    func stop() async throws {
        consumer.stop()
        for task in tasks.value { task.cancel() }
        pool.close()
        redis.stop(graceful: false)
        try? FileManager.default.removeItem(at: redis.directory)
        try? FileManager.default.removeItem(at: folder)
    }

    /// Sends one delivery and waits for its last Chatwoot request. Returns, in milliseconds, the
    /// time from sending to that request's arrival, and how much of it the fakes spent answering.
    func measure(_ scenario: Scenario, index: Int) async throws -> (total: Double, services: Double) {
        let before = chatwoot.requests.filter(scenario.isLast).count
        let start = ContinuousClock.now
        try await scenario.send(self, index)
        let deadline = start + .seconds(30)
        var last: FakeService.Received?
        while last == nil {
            let matching = chatwoot.requests.filter(scenario.isLast)
            if matching.count > before { last = matching.last }
            guard ContinuousClock.now < deadline else {
                let seen = chatwoot.requests.map { "\($0.method) \($0.path)" }.joined(separator: ", ")
                throw TestFailure("delivery \(index) did not finish within 30 s; Chatwoot saw: \(seen)")
            }
            if last == nil { try await Task.sleep(for: .milliseconds(1)) }
        }
        let end = last!.arrivedAt
        var waiting = Duration.zero
        for fake in fakes {
            for span in fake.handlingTimes where span.arrived >= start && span.arrived < end {
                waiting += min(span.answered, end) - span.arrived
            }
        }
        return (milliseconds(end - start), milliseconds(waiting))
    }

    func post(_ path: String, headers: [(String, String)], body: [UInt8]) async throws {
        let reply = try await LoopbackHTTP.send(port: port, path: path, headers: headers, body: body)
        guard reply.status == 202 else { throw TestFailure("\(path) answered \(reply.status): \(reply.text)") }
    }

    var scenarios: [String: Scenario] {
        let isMessage: @Sendable (FakeService.Received) -> Bool = { $0.method == "POST" && $0.path.hasSuffix("/messages") }
        return [
            "chat": Scenario(
                stages: 3,
                send: { world, index in
                    let body =
                        #"{"event":"message_created","id":\#(10_000_000 + index),"content":"When is breakfast?","message_type":"incoming","private":false,"sender":{"id":7,"type":"contact"},"account":{"id":1},"conversation":{"id":51}}"#
                    try await world.post("/webhooks/chatwoot", headers: [("Content-Type", "application/json")], body: Array(body.utf8))
                }, isLast: isMessage),
            "voice": Scenario(
                stages: 5,
                send: { world, index in
                    let audio =
                        Array("OggS".utf8) + [0, 2] + [UInt8](repeating: 0, count: 22) + Array("OpusHead".utf8)
                        + [UInt8](repeating: UInt8(index % 251), count: 16_000)
                    try await world.post(
                        "/voice?account_id=1&conversation_id=51",
                        headers: [("Authorization", "Bearer voice"), ("Content-Type", "audio/ogg")], body: audio)
                }, isLast: isMessage),
            "call": Scenario(
                stages: 4,
                send: { world, index in
                    let recordings = world.fakes[4].url
                    let body =
                        #"{"resource":"call","event":"call.ended","timestamp":1764140500,"token":"air","data":{"id":\#(20_000_000 + index),"direction":"inbound","started_at":1764140400,"duration":95,"raw_digits":"+33 6 12 34 56 78","recording":"\#(recordings)/r.mp3"}}"#
                    try await world.post("/webhooks/aircall", headers: [("Content-Type", "application/json")], body: Array(body.utf8))
                }, isLast: isMessage),
            "booking": Scenario(
                stages: 2,
                send: { world, index in
                    // Confirmed and inquiry in turn, confirmed first (the chat flow's triage left the
                    // conversation an inquiry): triage writes only what changes, so the phase it
                    // already has would end in no request at all.
                    let sent = world.bookingsSent.withLock { count -> Int in
                        count += 1
                        return count
                    }
                    let status = sent.isMultiple(of: 2) ? "inquiry" : "confirmed"
                    let body =
                        #"{"event":"reservation.updated","reservation":{"_id":"R\#(index)","status":"\#(status)","checkIn":"2099-03-01","checkOut":"2099-03-04","guest":{"fullName":"Ada","email":"ada@example.com"}}}"#
                    try await world.post(
                        "/webhooks/guesty",
                        headers: [("Content-Type", "application/json")]
                            + SvixSigning.headers(body, id: "msg_\(index)_\(UUID().uuidString)", secret: Self.guestySecret),
                        body: Array(body.utf8))
                }, isLast: { $0.method == "POST" && $0.path.hasSuffix("/assignments") }),
        ]
    }
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}
