import Foundation
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// People first: a guest's message can wait `ASSISTANT_DELAY` so the team answers first, and the
/// reply stage posts nothing once a person has written publicly since the guest's message.
@Suite struct PeopleFirstTests {
    final class World: Sendable {
        let server: RedisServer
        let pool: RedisPool
        let broker: Broker
        let chatwoot: FakeChatwoot
        let services: FlowServices

        init(delay: Duration = .zero, conversations: [FakeChatwoot.Conversation], prefix: String = #function) async throws {
            server = try await RedisServer()
            pool = RedisPool(endpoint: server.endpoint, size: 2)
            let keys = Keys(prefix: prefix.filter { $0.isLetter || $0.isNumber })
            broker = Broker(pool: pool, keys: keys)
            let embeddings = try await FakeService.embeddings(vector: [1, 0, 0])
            let (_, qdrant) = try await FakeQdrant.create(apiKey: "qd")
            let model = try await FakeService.chatModel(answer: "Breakfast is from 7 to 10.")
            chatwoot = try await FakeChatwoot(token: "cw", conversations: conversations)
            let http = HTTPClient()
            var services = FlowServices(
                embeddings: EmbeddingsClient(baseURL: embeddings.url + "/v1", apiKey: "sk", model: "m", http: http),
                qdrant: QdrantClient(baseURL: qdrant.url, apiKey: "qd", collection: "knowledge", http: http),
                completions: ChatCompletionsClient(baseURL: model.url + "/openai/v1", apiKey: "gsk", model: "m", http: http),
                chatwoot: ChatwootClient(baseURL: chatwoot.url, apiToken: "cw", http: http),
                systemPrompt: "Front desk.", keys: keys)
            services.assistantDelay = delay
            self.services = services
            try await services.qdrant.ensureCollection(vectorSize: 3)
            // The services live as long as the world: keep the fakes' servers up.
            fakes = [embeddings, qdrant, model]
        }
        let fakes: [FakeService]

        func ask(conversation: Int, message: Int) async throws {
            let question = ChatMessage(
                accountID: 1, conversationID: conversation, inboxID: 1, messageID: message, content: "When is breakfast?", senderID: 7,
                senderName: "Ada")
            try await broker.add(try Flows.chat.request(question, dedupe: "m\(message)").envelope(), to: Flows.chat.queue)
        }

        func runUntilIdle() async throws {
            try await FlowRun.untilIdle(
                [Flows.chat.queue, ChatFlow.generateQueue, ChatFlow.replyQueue], services: services, broker: broker, pool: pool)
        }
    }

    @Test func aPersonsPublicAnswerSinceTheGuestsMessageSilencesTheAssistant() async throws {
        let w = try await World(conversations: [
            .init(
                id: 30,
                history: [
                    .init(id: 300, content: "When is breakfast?", messageType: 0),
                    .init(id: 301, content: "From 7, Ada!", messageType: 1),
                ]),
            .init(
                id: 31,
                history: [
                    .init(id: 305, content: "Welcome!", messageType: 1),
                    .init(id: 310, content: "When is breakfast?", messageType: 0),
                    .init(id: 311, content: "let the bot answer", messageType: 1, isPrivate: true),
                ]),
        ])
        try await w.ask(conversation: 30, message: 300)
        try await w.ask(conversation: 31, message: 310)
        try await w.runUntilIdle()
        #expect(w.chatwoot.messages.map(\.conversation) == [31], "answered only where no person had: \(w.chatwoot.messages)")

        // The assistant's own answer (9001, after it) is not a person's: a question asked before
        // that answer was posted is still answered.
        try await w.ask(conversation: 31, message: 312)
        try await w.runUntilIdle()
        #expect(w.chatwoot.messages.filter { $0.conversation == 31 }.count == 2)
    }

    @Test func aGuestsMessageWaitsTheDelayAndAnAgentWhoAnswersMeanwhileHasIt() async throws {
        let w = try await World(
            delay: .seconds(1),
            conversations: [
                .init(id: 40, history: [.init(id: 400, content: "When is breakfast?", messageType: 0)]),
                .init(id: 41, history: [.init(id: 410, content: "When is breakfast?", messageType: 0)]),
            ])
        let asked = ContinuousClock.now
        try await w.ask(conversation: 40, message: 400)
        try await w.ask(conversation: 41, message: 410)
        // An agent answers conversation 41 while its message waits.
        w.chatwoot.conversations.withLock { $0[41]?.history.append(.init(id: 411, content: "From 7!", messageType: 1)) }
        try await w.runUntilIdle()
        let answered = w.chatwoot.service.requests.first { $0.method == "POST" && $0.path.hasSuffix("/conversations/40/messages") }
        let posted = try #require(answered, "conversation 40 answered")
        #expect(posted.arrivedAt - asked >= .seconds(1), "not before the delay")
        #expect(w.chatwoot.messages.map(\.conversation) == [40], "the agent had 41")
        #expect(try await w.pool.send("XLEN", w.broker.keys.dead(Flows.chat.queue)).integer == 0, "waiting is not failing")
    }
}
