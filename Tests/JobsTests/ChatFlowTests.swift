import Foundation
import Hummingbird
import Logging
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// The chat flow end to end against fakes of the embeddings API, Qdrant, the chat model and
/// Chatwoot, with a real Redis and the real consumer: from the job the producer enqueues to the
/// request that reaches Chatwoot.
@Suite struct ChatFlowTests {
    final class World: Sendable {
        let server: RedisServer
        let pool: RedisPool
        let broker: Broker
        let embeddings: FakeService
        let qdrant: FakeQdrant
        let qdrantService: FakeService
        let model: FakeService
        let chatwoot: FakeChatwoot
        let services: FlowServices

        /// `answer` decides the model's answer for each request it receives (the n-th, from 1).
        init(
            prefix: String = #function, history: Response? = nil, slowPosts: Duration = .zero, chatwootTimeout: Duration = .seconds(15),
            botToken: String? = nil, turn: AssistantTurn = .unassigned, handOffWithoutKnowledge: Bool = false,
            giveUpAfter: Duration = FlowServices.defaultGiveUpAfter, staffInboxes: Set<Int> = [],
            answer: @escaping @Sendable (Int, FakeService.Received) -> Response
        ) async throws {
            server = try await RedisServer()
            pool = RedisPool(endpoint: server.endpoint, size: 2)
            let keys = Keys(prefix: prefix.filter { $0.isLetter || $0.isNumber })
            broker = Broker(pool: pool, keys: keys)
            embeddings = try await FakeService.embeddings(vector: [1, 0, 0])
            (qdrant, qdrantService) = try await FakeQdrant.create(apiKey: "qd")
            let calls = LockedValue(0)
            model = try await FakeService { received in
                answer(
                    calls.withLock { value in
                        value += 1; return value
                    }, received)
            }
            // The conversation so far: the guest, an agent, an agent's private aside, an activity
            // line, and a later message that must not count as history of message 118.
            chatwoot = try await FakeChatwoot(
                token: "cw", botToken: botToken,
                conversations: [
                    .init(
                        id: 10,
                        history: [
                            .init(id: 100, content: "We arrive on Friday with two kids.", messageType: 0),
                            .init(id: 101, content: "Welcome! Two cots will be ready.", messageType: 1),
                            .init(id: 102, content: "VIP, offer the upgrade", messageType: 1, isPrivate: true),
                            .init(id: 103, content: "Conversation was assigned to Maya", messageType: 2),
                            .init(id: 200, content: "later message", messageType: 0),
                        ])
                ], history: history, slowPosts: slowPosts)
            let http = HTTPClient()
            var services = FlowServices(
                embeddings: EmbeddingsClient(baseURL: embeddings.url + "/v1", apiKey: "sk", model: "m", http: http),
                qdrant: QdrantClient(baseURL: qdrantService.url, apiKey: "qd", collection: "knowledge", http: http),
                completions: ChatCompletionsClient(baseURL: model.url + "/openai/v1", apiKey: "gsk", model: "qwen/qwen3-32b", http: http),
                chatwoot: ChatwootClient(baseURL: chatwoot.url, apiToken: "cw", botToken: botToken, http: http, timeout: chatwootTimeout),
                systemPrompt: "You are the front desk of Sea View Loft.", keys: keys, turn: turn)
            services.handOffWithoutKnowledge = handOffWithoutKnowledge
            services.giveUpAfter = giveUpAfter
            services.staffInboxes = staffInboxes
            self.services = services
            try await services.qdrant.ensureCollection(vectorSize: 3)
            try await services.qdrant.upsert([
                .init(
                    id: QdrantClient.pointID(for: "kb:pool"), vector: [1, 0, 0],
                    payload: ["account_id": .integer(1), "text": .string("The pool is heated to 28 °C from May to October.")]),
                .init(
                    id: QdrantClient.pointID(for: "kb:other"), vector: [1, 0, 0],
                    payload: ["account_id": .integer(2), "text": .string("Another account's secret.")]),
            ])
        }

        deinit { pool.close() }

        /// Runs a consumer on the flow's queues while `body` runs.
        func running(_ body: () async throws -> Void) async throws {
            var logger = Logger(label: "test")
            logger.logLevel = .error
            let configuration = ConsumerConfiguration(
                queues: ["retrieve", "generate", "reply"], concurrency: 8, promoteInterval: .milliseconds(50),
                fetchBlock: .milliseconds(200))
            let consumer = StreamConsumer(
                configuration: configuration, registry: Catalogue.registry(flows: services), broker: broker, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await consumer.run() }
                do { try await body() } catch { consumer.stop(); throw error }
                consumer.stop()
                try await group.waitForAll()
            }
        }

        func ask(_ text: String, messageID: Int = 118) async throws {
            let message = ChatMessage(
                accountID: 1, conversationID: 10, inboxID: 1, messageID: messageID, content: text, senderID: 14, senderName: "Ada")
            try await broker.add(
                try Flows.chat.request(message, dedupe: "chatwoot:1:message:\(messageID)").envelope(), to: Flows.chat.queue)
        }

        var replies: [FakeService.Received] { chatwoot.requests.filter { $0.method == "POST" && $0.path.hasSuffix("/messages") } }
        /// Nothing left on `queue`, waiting or to be retried.
        func settled(_ queue: String) async -> Bool {
            let length = try? await length(queue)
            let delayed = try? await pool.send("ZCARD", broker.keys.delayed(queue)).integer
            return length == 0 && delayed == 0
        }

        func length(_ queue: String) async throws -> Int { try await pool.send("XLEN", broker.keys.stream(queue)).integer ?? -1 }
        func dead(_ queue: String) async throws -> Int { try await pool.send("XLEN", broker.keys.dead(queue)).integer ?? -1 }
    }

    static func completion(_ content: String) -> Response {
        let quoted = String(decoding: try! JSONSerialization.data(withJSONObject: [content]), as: UTF8.self).dropFirst().dropLast()
        return FakeService.answer(
            .ok,
            #"{"id":"c","object":"chat.completion","model":"qwen/qwen3-32b","choices":[{"index":0,"message":{"role":"assistant","content":\#(quoted)},"finish_reason":"stop"}],"usage":{"prompt_tokens":50,"completion_tokens":12}}"#
        )
    }

    @Test func aQuestionIsAnsweredInItsConversationWithTheAccountsKnowledge() async throws {
        let world = try await World { _, _ in
            Self.completion("<think>The context says 28 °C.</think>Yes, the pool is heated to 28 °C from May to October.")
        }
        try await world.running {
            try await world.ask("Is the pool heated?")
            #expect(await eventually(timeout: .seconds(20)) { world.replies.count == 1 })
        }
        let reply = try #require(world.replies.first)
        #expect(reply.path == "/api/v1/accounts/1/conversations/10/messages")
        #expect(jsonFields(reply.body)["content"] as? String == "Yes, the pool is heated to 28 °C from May to October.")
        #expect(jsonFields(reply.body)["message_type"] as? String == "outgoing" && jsonFields(reply.body)["private"] as? Bool == false)
        let request = try #require(world.model.requests.first)
        let prompt = try #require((jsonFields(request.body)["messages"] as? [[String: String]])?.first?["content"])
        #expect(prompt.contains("front desk of Sea View Loft") && prompt.contains("28 °C"))
        #expect(!prompt.contains("Another account"), "retrieval is filtered to the guest's account")
        let turns = (jsonFields(request.body)["messages"] as? [[String: String]] ?? []).dropFirst().map {
            "\($0["role"] ?? ""): \($0["content"] ?? "")"
        }
        #expect(
            turns == [
                "user: We arrive on Friday with two kids.", "assistant: Welcome! Two cots will be ready.", "user: Is the pool heated?",
            ],
            "the conversation's earlier messages, without private notes, activity lines or anything after the question")
        #expect(world.chatwoot.requests.first { $0.method == "GET" }?.query == "before=118")
        for queue in ["retrieve", "generate", "reply"] { #expect(try await world.length(queue) == 0) }
    }

    /// The history is context, not a condition: a Chatwoot that will not show it (an agent bot's
    /// token gets 401) or shows something else costs the guest nothing but that context.
    @Test(arguments: [
        FakeService.answer(.unauthorized, #"{"errors":["You need to sign in or sign up before continuing."]}"#),
        FakeService.answer(.ok, "<html>maintenance</html>"),
    ])
    func aQuestionIsAnsweredWithoutTheHistoryWhenItCannotBeRead(_ history: Response) async throws {
        let world = try await World(history: history) { _, _ in Self.completion("Yes, it is heated.") }
        try await world.running {
            try await world.ask("Is the pool heated?")
            #expect(await eventually(timeout: .seconds(20)) { world.replies.count == 1 })
        }
        #expect(jsonFields(try #require(world.replies.first).body)["content"] as? String == "Yes, it is heated.")
        let turns = (jsonFields(try #require(world.model.requests.first).body)["messages"] as? [[String: String]] ?? []).dropFirst().map {
            $0["content"] ?? ""
        }
        #expect(turns == ["Is the pool heated?"], "the question alone")
        #expect(try await world.dead("generate") == 0)
    }

    @Test func aRateLimitedModelIsRetriedAfterItsAdvisedDelayAndAnswersOnce() async throws {
        let world = try await World { call, _ in
            call <= 2
                ? FakeService.answer(
                    .tooManyRequests, #"{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}"#,
                    headers: [.retryAfter: "1"])
                : Self.completion("Checkout is at 11:00.")
        }
        try await world.running {
            try await world.ask("When is checkout?")
            #expect(await eventually(timeout: .seconds(30)) { world.replies.count == 1 })
        }
        #expect(world.model.requests.count == 3 && world.replies.count == 1)
        #expect(try await world.dead("generate") == 0)
    }

    /// A model that always answers 429 with `Retry-After: 0` (and no limit configured) once took
    /// 59 calls in 15 s for one message, forever: the guest was never answered nor handed over.
    @Test func aGuestHeldBackByAModelThatAlwaysSays429GoesToAPersonWithinTheBound() async throws {
        let world = try await World(giveUpAfter: .seconds(4)) { _, _ in
            FakeService.answer(
                .tooManyRequests, #"{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}"#, headers: [.retryAfter: "0"])
        }
        try await world.running {
            try await world.ask("Is breakfast included?")
            #expect(await eventually(timeout: .seconds(30)) { (try? await world.dead("generate")) == 1 })
            #expect(await eventually(timeout: .seconds(10)) { world.replies.count == 1 })
        }
        // About one call a second (the floor), not dozens, and then no more.
        #expect(world.model.requests.count >= 2 && world.model.requests.count <= 7, "\(world.model.requests.count) model calls")
        let note = jsonFields(try #require(world.replies.first).body)
        #expect(note["private"] as? Bool == true, "the guest sees nothing of it")
        #expect((note["content"] as? String)?.contains("held back by limits") == true)
        #expect(world.chatwoot.requests.contains { $0.path.hasSuffix("/toggle_status") }, "the conversation is handed to people")
    }

    @Test func aRepeatedReplyStagePostsOnce() async throws {
        let world = try await World { _, _ in Self.completion("unused") }
        let answer = ChatAnswer(accountID: 1, conversationID: 10, messageID: 300, content: "Your room is ready.")
        let payload = String(decoding: try JSONEncoder().encode(answer), as: UTF8.self)
        for _ in 0..<2 {
            // As if the reply stage ran again after a crash between its post and its acknowledgement.
            let job = JobRequest(queue: ChatFlow.replyQueue, kind: "chat.reply", payload: payload, maxAttempts: 3)
            try await world.broker.add(job.envelope(), to: ChatFlow.replyQueue)
        }
        try await world.running {
            // Both settle: one posts, the other finds the claim, comes back and finds the reply posted.
            #expect(await eventually(timeout: .seconds(30)) { await world.settled("reply") })
        }
        #expect(world.replies.count == 1)
        #expect(try await world.dead("reply") == 0)
    }

    /// The reply's post times out although Chatwoot created the message: the retry finds it in
    /// the conversation and records it, instead of posting the answer a second time.
    @Test func aReplyWhosePostTimedOutIsNotPostedTwice() async throws {
        let world = try await World(slowPosts: .seconds(6), chatwootTimeout: .seconds(2)) { _, _ in Self.completion("unused") }
        let answer = ChatAnswer(accountID: 1, conversationID: 10, messageID: 301, content: "Late checkout is fine.")
        let job = JobRequest(
            queue: ChatFlow.replyQueue, kind: "chat.reply", payload: String(decoding: try JSONEncoder().encode(answer), as: UTF8.self),
            maxAttempts: 4)
        try await world.broker.add(job.envelope(), to: ChatFlow.replyQueue)
        try await world.running {
            #expect(await eventually(timeout: .seconds(30)) { await world.settled("reply") })
        }
        #expect(world.chatwoot.messages.filter { $0.content == "Late checkout is fine." }.count == 1)
        #expect(world.replies.count == 1, "posted once; the retry only looked")
        let marker = try await world.pool.send("GET", world.broker.keys.done("reply:1:301")).string
        #expect(
            marker == "9001",
            "the marker holds the message's id, not \(marker ?? "nothing"); messages: \(world.chatwoot.messages.map(\.content)); Chatwoot saw \(world.chatwoot.requests.map { "\($0.method) \($0.path) \($0.arrivedAt)" }) until \(ContinuousClock.now)"
        )
        #expect(try await world.dead("reply") == 0)
    }

    /// An attempt that crashed right after claiming the post left its claim behind: the next run —
    /// the same job reclaimed, or another once the claim is older than any post can take — checks the
    /// conversation, finds nothing, takes the claim over and posts, within the retry budget.
    @Test(arguments: [true, false])
    func aClaimLeftByACrashedAttemptDoesNotKeepTheReplyFromBeingPosted(sameJob: Bool) async throws {
        let world = try await World { _, _ in Self.completion("unused") }
        let answer = ChatAnswer(accountID: 1, conversationID: 10, messageID: 302, content: "The sauna opens at 7.")
        let envelope = JobRequest(
            queue: ChatFlow.replyQueue, kind: "chat.reply", payload: String(decoding: try JSONEncoder().encode(answer), as: UTF8.self),
            maxAttempts: 4
        ).envelope()
        let claim =
            sameJob
            ? "posting:\(envelope.id):\(WallClock.unixMilliseconds())" : "posting:01DEADJOB:\(WallClock.unixMilliseconds() - 120_000)"
        _ = try await world.pool.send("SET", world.broker.keys.done("reply:1:302"), claim)
        try await world.broker.add(envelope, to: ChatFlow.replyQueue)
        try await world.running {
            #expect(await eventually(timeout: .seconds(20)) { world.replies.count == 1 })
            #expect(await eventually { (try? await world.length("reply")) == 0 })
        }
        #expect(world.chatwoot.messages.map(\.content) == ["The sauna opens at 7."])
        #expect(try await world.pool.send("GET", world.broker.keys.done("reply:1:302")).string == "9001")
    }

    @Test func aDecommissionedModelDeadLettersWithAPrivateNoteAndNoReply() async throws {
        let world = try await World { _, _ in
            FakeService.answer(
                .badRequest,
                #"{"error":{"message":"The model `deepseek-r1-distill-qwen-32b` has been decommissioned","type":"invalid_request_error","code":"model_decommissioned"}}"#
            )
        }
        try await world.running {
            try await world.ask("Hello?")
            #expect(await eventually(timeout: .seconds(20)) { (try? await world.dead("generate")) == 1 })
        }
        #expect(world.model.requests.count == 1, "a permanent error is not retried")
        // No answer reaches the guest; the agents get a private note saying why.
        #expect(await eventually { world.replies.count == 1 })
        let note = jsonFields(try #require(world.replies.first).body)
        #expect(note["private"] as? Bool == true)
        #expect((note["content"] as? String)?.contains("model_decommissioned") == true)
        #expect((note["content"] as? String)?.contains("could not answer") == true)
    }
}
