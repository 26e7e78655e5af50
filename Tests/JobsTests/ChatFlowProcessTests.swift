import Foundation
import Hummingbird
import Jobs
import Queue
import Redis
import Services
import TestSupport
import Testing

/// The chat flow as an operator runs it: `switchboard consumer` configured from the environment
/// (secrets as files), fed by the real producer's Chatwoot route, answering into a fake Chatwoot.
@Suite struct ChatFlowProcessTests {
    /// A consumer process on the chat flow's queues and the real producer, against fakes: the
    /// model answers `answer`, the knowledge holds one shared point.
    struct Deployment {
        let h: ProcessHarness
        let model: FakeService
        let chatwoot: FakeChatwoot
        let consumer: SwitchboardProcess
        let producer: SwitchboardProcess
        let port: Int
        /// The consumer's monitoring listener.
        let metricsPort: Int
        let folder: URL

        init(
            answer: String, conversations: [FakeChatwoot.Conversation] = [.init(id: 10)], settings: [String: String] = [:],
            botToken: String? = nil, prefix: String = #function
        ) async throws {
            h = ProcessHarness(server: try await RedisServer(), prefix: prefix)
            let embeddings = try await FakeService.embeddings(vector: [0, 1, 0])
            let (_, qdrant) = try await FakeQdrant.create(apiKey: "qd")
            let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [answer]), as: UTF8.self).dropFirst().dropLast()
            model = try await FakeService { _ in
                FakeService.answer(
                    .ok,
                    #"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":\#(quoted)},"finish_reason":"stop"}]}"#
                )
            }
            chatwoot = try await FakeChatwoot(token: "cw-token", botToken: botToken, conversations: conversations)
            let setup = QdrantClient(baseURL: qdrant.url, apiKey: "qd", collection: "knowledge", http: HTTPClient())
            try await setup.ensureCollection(vectorSize: 3)
            try await setup.upsert([
                .init(
                    id: QdrantClient.pointID(for: "kb:checkout"), vector: [0, 1, 0],
                    payload: ["account_id": .integer(1), "text": .string("Late checkout until 13:00 for 20 EUR.")])
            ])
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-chat-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let tokenFile = folder.appendingPathComponent("chatwoot_token")
            try "cw-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
            let environment = [
                "EMBEDDINGS_URL": embeddings.url + "/v1", "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrant.url, "QDRANT_API_KEY": "qd",
                "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "GROQ_BASE_URL": model.url + "/openai/v1",
                "CHATWOOT_URL": chatwoot.url, "CHATWOOT_API_TOKEN_FILE": tokenFile.path, "SYSTEM_PROMPT": "You are the front desk.",
            ].merging(settings) { _, given in given }
            (consumer, metricsPort) = try await SwitchboardProcess.serving(environment: environment) { [h] port in
                ["consumer"] + h.common + ["--queues", "retrieve,generate,reply", "--concurrency", "4", "--metrics-port", String(port)]
            }
            let blobs = folder.appendingPathComponent("blobs").path
            (producer, port) = try await SwitchboardProcess.serving(
                environment: ["BLOB_STORE": blobs].merging(settings) { _, given in given }
            ) { [h] port in
                ["producer"] + h.common + ["--host", "127.0.0.1", "--port", String(port)]
            }
        }

        func deliver(_ message: String) async throws -> LoopbackHTTP.Reply {
            try await LoopbackHTTP.send(
                port: port, path: "/webhooks/chatwoot", headers: [("Content-Type", "application/json")], body: Array(message.utf8))
        }

        /// The consumer's count of `outcome` answers to guests, as its /metrics says it.
        func answers(_ outcome: String) async throws -> Int {
            let scraped = try await LoopbackHTTP.send(port: metricsPort, method: "GET", path: "/metrics", headers: [], body: [])
            let line = scraped.text.split(separator: "\n").first {
                $0.hasPrefix("switchboard_assistant_answers_total") && $0.contains(#"audience="guest""#)
                    && $0.contains(#"outcome="\#(outcome)""#)
            }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }

        func stop() async {
            consumer.signal(SIGTERM)
            producer.signal(SIGTERM)
            #expect(await consumer.waitForExit() == 0)
            #expect(await producer.waitForExit() == 0)
            h.client.close()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    @Test func aChatwootMessageThroughTheProducerIsAnsweredByAConsumerProcess() async throws {
        let d = try await Deployment(answer: "Late checkout is possible until 13:00.")
        let message =
            #"{"event":"message_created","id":4242,"content":"Can I check out late?","message_type":"incoming","private":false,"sender":{"id":3,"type":"contact"},"account":{"id":1},"conversation":{"id":10}}"#
        let accepted = try await d.deliver(message)
        #expect(accepted.status == 202, "\(accepted.text)")
        #expect(await eventually(timeout: .seconds(30)) { d.chatwoot.messages.count == 1 }, "\(d.consumer.log.suffix(2000))")
        let reply = try #require(d.chatwoot.messages.first)
        #expect(reply.conversation == 10 && !reply.isPrivate && reply.content == "Late checkout is possible until 13:00.")
        #expect(await eventually { (try? await d.answers("answered")) == 1 }, "counted as answered from the knowledge")
        let request = try #require(d.model.requests.first)
        let prompt = (jsonFields(request.body)["messages"] as? [[String: String]])?.first?["content"] ?? ""
        #expect(prompt.contains("Late checkout until 13:00 for 20 EUR."))
        // One id from the webhook to the reply: the producer's answer, the stages' log lines, the trace.
        let flow = try #require(jsonFields(accepted.body)["flow_id"] as? String)
        #expect(
            await eventually { d.consumer.log.contains("flow.id=\(flow)") && d.consumer.log.contains("posted to Chatwoot") },
            "\(d.consumer.log.suffix(2000))")
        #expect(await eventually { (try? await d.h.client.send("XLEN", "{\(d.h.prefix)}:reply:history").integer) == 1 })
        let traced = try await SwitchboardProcess.run(["trace", flow, "--json"] + d.h.common)
        #expect(traced.status == 0, "\(traced.output)")
        let all = (jsonFields(Array(traced.output.utf8))["steps"] as? [[String: Any]]) ?? []
        // The conversation's triage, started by the same delivery, waits in its queue (no consumer reads it here).
        #expect(
            all.filter { $0["kind"] as? String == "conversation.triage" }.map { $0["state"] as? String } == ["waiting"], "\(traced.output)")
        let steps = all.filter { $0["kind"] as? String != "conversation.triage" }
        #expect(steps.map { $0["kind"] as? String } == ["chat.retrieve", "chat.generate", "chat.reply"], "\(traced.output)")
        #expect(steps.map { $0["state"] as? String } == ["next", "next", "done"])
        #expect(steps.map { $0["queue"] as? String } == ["retrieve", "generate", "reply"])
        #expect(steps[0]["jobID"] as? String == flow)
        // Asked by the last stage's id, the same flow; printed for people, the three stages.
        let last = try #require(steps.last?["jobID"] as? String)
        let table = try await SwitchboardProcess.run(["trace", last] + d.h.common, environment: ["NO_COLOR": "1"])
        #expect(table.status == 0 && table.output.hasPrefix("flow \(flow)\n"), "\(table.output)")
        #expect(table.output.split(separator: "\n").filter { $0.contains(" chat.") }.count == 3, "\(table.output)")
        // The console shows the same flow by the same id.
        let (console, consolePort) = try await SwitchboardProcess.serving { [h = d.h] port in
            ["console"] + h.common + ["--port", String(port)]
        }
        let page = try await LoopbackHTTP.send(port: consolePort, method: "GET", path: "/trace?id=\(flow)")
        #expect(page.status == 200 && page.text.contains("Flow \(flow)"), "\(page.text.prefix(2000))")
        for kind in ["chat.retrieve", "chat.generate", "chat.reply"] { #expect(page.text.contains("<td>\(kind)</td>"), "\(kind)") }
        console.signal(SIGTERM)
        #expect(await console.waitForExit() == 0)
        let unknown = try await SwitchboardProcess.run(["trace", "01JNOTHINGKNOWNOFTHIS00000"] + d.h.common)
        #expect(unknown.status == 1 && unknown.output.contains("nothing is known of 01JNOTHINGKNOWNOFTHIS00000"))
        await d.stop()
    }

    /// An agent bot's pending conversation, as the processes run it: the guest asks for a person,
    /// is told so by the bot, the conversation is opened once with a note, and the guest's next
    /// message (the conversation now open) is left to the people.
    @Test func aGuestAskingForAPersonIsHandedToPeopleByTheProcesses() async throws {
        let d = try await Deployment(
            answer: "HANDOFF\nA colleague will take over here shortly.", conversations: [.init(id: 10, status: "pending")],
            settings: ["ASSISTANT_ANSWERS": "pending", "CHATWOOT_BOT_TOKEN": "bot-token"], botToken: "bot-token")
        func message(_ id: Int, status: String) -> String {
            #"{"event":"message_created","id":\#(id),"content":"I want to talk to a human","message_type":"incoming","private":false,"sender":{"id":3,"type":"contact"},"account":{"id":1},"conversation":{"id":10,"status":"\#(status)","meta":{"assignee":null}}}"#
        }
        #expect(try await d.deliver(message(4300, status: "pending")).status == 202)
        #expect(
            await eventually(timeout: .seconds(30)) {
                d.chatwoot.conversations.value[10]?.status == "open" && d.chatwoot.messages.count == 2
            },
            "\(d.consumer.log.suffix(2000))")
        let messages = d.chatwoot.messages
        #expect(messages.contains { !$0.isPrivate && $0.content == "A colleague will take over here shortly." && $0.byBot })
        #expect(messages.contains { $0.isPrivate && $0.content.contains("asked for a person") })
        let later = try await d.deliver(message(4301, status: "open"))
        #expect(
            later.status == 200 && (jsonFields(later.body)["ignored"] as? String)?.contains("a person has the conversation") == true,
            "\(later.text)")
        #expect(d.chatwoot.requests.filter { $0.path.hasSuffix("/toggle_status") }.count == 1)
        #expect(try await d.answers("handed_over_asked") == 1)
        #expect(try await d.answers("answered") == 0)
        await d.stop()
    }

    @Test func aConsumerKilledMidStageLeavesExactlyOneReply() async throws {
        let server = try await RedisServer(aof: true)
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let embeddings = try await FakeService.embeddings(vector: [0, 1, 0])
        let (_, qdrant) = try await FakeQdrant.create(apiKey: "qd")
        try await QdrantClient(baseURL: qdrant.url, apiKey: "qd", collection: "knowledge", http: HTTPClient()).ensureCollection(
            vectorSize: 3)
        // The model takes a while, so the first consumer can be killed while it waits.
        let model = try await FakeService { _ in
            try? await Task.sleep(for: .seconds(2))
            return FakeService.answer(
                .ok,
                #"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Breakfast is served from 7 to 10."},"finish_reason":"stop"}]}"#
            )
        }
        let chatwoot = try await FakeChatwoot(token: "t", conversations: [.init(id: 12)])
        let environment = [
            "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrant.url, "QDRANT_API_KEY": "qd",
            "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "GROQ_BASE_URL": model.url, "CHATWOOT_URL": chatwoot.url,
            "CHATWOOT_API_TOKEN": "t", "SYSTEM_PROMPT": "Front desk.",
        ]
        let options = ["--queues", "retrieve,generate,reply", "--concurrency", "4", "--visibility-timeout", "3"]
        let victim = try h.consumer(options, environment: environment)
        let message = ChatMessage(
            accountID: 1, conversationID: 12, inboxID: 1, messageID: 5150, content: "When is breakfast?", senderID: 3, senderName: "Ada")
        let envelope = try Flows.chat.request(message, dedupe: "chatwoot:1:message:5150").envelope()
        try await Broker(pool: RedisPool(endpoint: server.endpoint), keys: Keys(prefix: h.prefix)).add(envelope, to: Flows.chat.queue)
        // Kill -9 while the generate stage waits on the model.
        #expect(await eventually(timeout: .seconds(20)) { !model.requests.isEmpty }, "\(victim.log.suffix(1500))")
        victim.signal(SIGKILL)
        #expect(await victim.waitForExit() == -SIGKILL)
        let survivor = try h.consumer(options, environment: environment)
        #expect(await eventually(timeout: .seconds(30)) { chatwoot.messages.count == 1 }, "\(survivor.log.suffix(1500))")
        // Once no stage holds any work (nothing in a stream, nothing waiting to retry), no further
        // reply can come: count then.
        #expect(
            await eventually(timeout: .seconds(30)) {
                var idle = true
                for queue in ["retrieve", "generate", "reply"] {
                    let length = try? await h.integer("XLEN", h.key("\(queue):stream"))
                    let delayed = try? await h.integer("ZCARD", h.key("\(queue):delayed"))
                    idle = idle && length == 0 && delayed == 0
                }
                return idle
            })
        #expect(chatwoot.messages.count == 1, "exactly one reply")
        #expect(model.requests.count == 2, "the killed attempt ran again on the survivor")
        survivor.signal(SIGTERM)
        #expect(await survivor.waitForExit() == 0)
    }

    @Test func aConsumersRetryBudgetComesFromItsEnvironment() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let embeddings = try await FakeService.embeddings(vector: [0, 1, 0])
        let (_, qdrant) = try await FakeQdrant.create(apiKey: "qd")
        try await QdrantClient(baseURL: qdrant.url, apiKey: "qd", collection: "knowledge", http: HTTPClient()).ensureCollection(
            vectorSize: 3)
        let model = try await FakeService { _ in FakeService.answer(.serviceUnavailable, #"{"error":{"message":"over capacity"}}"#) }
        let chatwoot = try await FakeChatwoot(token: "t", conversations: [.init(id: 12)])
        let environment = [
            "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrant.url, "QDRANT_API_KEY": "qd",
            "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "GROQ_BASE_URL": model.url, "CHATWOOT_URL": chatwoot.url,
            "CHATWOOT_API_TOKEN": "t", "SYSTEM_PROMPT": "Front desk.", "RETRY_CHAT": "2/100ms/100ms",
            "RETRY_CHAT_GENERATE": "3/100ms/100ms",
        ]
        let consumer = try h.consumer(["--queues", "retrieve,generate,reply"], environment: environment)
        // Enqueued without attempts of its own: the consumer's budget decides, for this stage and the ones it hands on to.
        let message = ChatMessage(
            accountID: 1, conversationID: 12, inboxID: 1, messageID: 6001, content: "Hello?", senderID: 3, senderName: "Ada")
        let request = JobRequest(
            queue: Flows.chat.queue, kind: Flows.chat.kind, payload: String(decoding: try JSONEncoder().encode(message), as: UTF8.self),
            maxAttempts: 0)
        try await Broker(pool: RedisPool(endpoint: server.endpoint), keys: Keys(prefix: h.prefix)).add(
            request.envelope(), to: Flows.chat.queue)
        #expect(
            await eventually(timeout: .seconds(20)) { (try? await h.integer("XLEN", h.key("generate:dead"))) == 1 },
            "\(consumer.log.suffix(1500))")
        #expect(model.requests.count == 3, "RETRY_CHAT_GENERATE=3/… over RETRY_CHAT=2/…: three attempts, not the default four")
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
        let malformed = try await SwitchboardProcess.run(
            ["consumer", "--redis", server.url, "--queues", "diagnostics", "--metrics-port", "0"],
            environment: ["RETRY_CALL": "ten"])
        #expect(malformed.status == 2 && malformed.output.contains("RETRY_CALL"), "\(malformed.output)")
    }

    @Test func askingForTheFlowsQueuesWithoutItsSettingsExits2NamingTheFirstMissing() async throws {
        let server = try await RedisServer()
        let result = try await SwitchboardProcess.run(
            ["consumer", "--redis", server.url, "--queues", "generate", "--metrics-port", "0"],
            environment: ["GROQ_API_KEY": "gsk"])
        #expect(result.status == 2 && result.output.contains("EMBEDDINGS_URL"), "\(result.output)")
        // A queue no kind of this build serves is refused rather than having its jobs dead-lettered.
        let unserved = try await SwitchboardProcess.run([
            "consumer", "--redis", server.url, "--queues", "no-such-queue", "--metrics-port", "0",
        ])
        #expect(unserved.status == 2 && unserved.output.contains("'no-such-queue'"), "\(unserved.output)")
        // The call and booking flows' queues name what those flows lack.
        let index = try await SwitchboardProcess.run(
            ["consumer", "--redis", server.url, "--queues", "triage", "--metrics-port", "0"],
            environment: [
                "EMBEDDINGS_URL": "http://127.0.0.1:9", "EMBEDDINGS_MODEL": "m", "QDRANT_URL": "http://127.0.0.1:9",
                "QDRANT_COLLECTION": "k", "GROQ_API_KEY": "g", "CHATWOOT_URL": "http://127.0.0.1:9",
                "CHATWOOT_API_TOKEN": "t", "SYSTEM_PROMPT": "p",
            ])
        #expect(index.status == 2 && index.output.contains("CHATWOOT_ACCOUNT_ID"), "\(index.output)")
    }
}
