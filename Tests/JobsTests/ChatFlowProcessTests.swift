import Foundation
import Hummingbird
import Jobs
import Queue
import Redis
import Services
import Testing
import TestSupport

/// The chat flow as an operator runs it: `switchboard consumer` configured from the environment
/// (secrets as files), fed by the real producer's Chatwoot route, answering into a fake Chatwoot.
@Suite struct ChatFlowProcessTests {
    @Test func aChatwootMessageThroughTheProducerIsAnsweredByAConsumerProcess() async throws {
        let server = try RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let embeddings = try await FakeService { received in
            let inputs = jsonFields(received.body)["input"] as? [String] ?? []
            let items = inputs.indices.map { #"{"object":"embedding","index":\#($0),"embedding":[0,1,0]}"# }
            return FakeService.answer(.ok, #"{"object":"list","data":[\#(items.joined(separator: ","))],"model":"m"}"#)
        }
        let (_, qdrant) = try await FakeQdrant.create(apiKey: "qd")
        let model = try await FakeService { _ in
            FakeService.answer(.ok, #"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Late checkout is possible until 13:00."},"finish_reason":"stop"}]}"#)
        }
        let chatwoot = try await FakeService { received in
            received.headers["api_access_token"] == "cw-token" ? FakeService.answer(.ok, #"{"id": 77}"#) : FakeService.answer(.unauthorized)
        }
        let http = HTTPClient()
        let setup = QdrantClient(baseURL: qdrant.url, apiKey: "qd", collection: "knowledge", http: http)
        try await setup.ensureCollection(vectorSize: 3)
        try await setup.upsert([.init(id: QdrantClient.pointID(for: "kb:checkout"), vector: [0, 1, 0],
                                      payload: ["account_id": .integer(1), "text": .string("Late checkout until 13:00 for 20 EUR.")])])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-chat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokenFile = folder.appendingPathComponent("chatwoot_token")
        try "cw-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let environment = [
            "EMBEDDINGS_URL": embeddings.url + "/v1", "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrant.url, "QDRANT_API_KEY": "qd",
            "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "GROQ_BASE_URL": model.url + "/openai/v1",
            "CHATWOOT_URL": chatwoot.url, "CHATWOOT_API_TOKEN_FILE": tokenFile.path, "SYSTEM_PROMPT": "You are the front desk.",
        ]
        let consumer = try h.consumer(["--queues", "retrieve,generate,reply", "--concurrency", "4"], environment: environment)
        let port = try FreePort.find()
        let producer = try SwitchboardProcess(["producer"] + h.common + ["--host", "127.0.0.1", "--port", String(port)],
                                              environment: ["BLOB_STORE": folder.appendingPathComponent("blobs").path])
        #expect(await eventually { HTTPProbe.get(port: port, path: "/healthz")?.status == 200 }, "\(producer.log)")
        let message = #"{"event":"message_created","id":4242,"content":"Can I check out late?","message_type":"incoming","private":false,"sender":{"id":3,"type":"contact"},"account":{"id":1},"conversation":{"id":10}}"#
        let accepted = try await LoopbackHTTP.send(port: port, path: "/webhooks/chatwoot", headers: [("Content-Type", "application/json")], body: Array(message.utf8))
        #expect(accepted.status == 202, "\(accepted.text)")
        #expect(await eventually(timeout: .seconds(30)) { chatwoot.requests.contains { $0.path == "/api/v1/accounts/1/conversations/10/messages" } },
                "\(consumer.log.suffix(2000))")
        let reply = try #require(chatwoot.requests.first)
        #expect(jsonFields(reply.body)["content"] as? String == "Late checkout is possible until 13:00.")
        let prompt = (jsonFields(try #require(model.requests.first).body)["messages"] as? [[String: String]])?.first?["content"] ?? ""
        #expect(prompt.contains("Late checkout until 13:00 for 20 EUR."))
        consumer.signal(SIGTERM)
        producer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
        #expect(await producer.waitForExit() == 0)
    }

    @Test func askingForTheFlowsQueuesWithoutItsSettingsExits2NamingTheFirstMissing() async throws {
        let server = try RedisServer()
        let result = try await SwitchboardProcess.run(["consumer", "--redis", server.url, "--queues", "generate", "--metrics-port", "0"],
                                                      environment: ["GROQ_API_KEY": "gsk"])
        #expect(result.status == 2 && result.output.contains("EMBEDDINGS_URL"), "\(result.output)")
    }
}
