import Foundation
import Hummingbird
@testable import Jobs
import Queue
import Redis
import Services
import Testing
import TestSupport

/// The assistant and the people take turns (issue 15): silent once a person has the
/// conversation, handing over — once — when the guest asks for a person or an answer fails.
@Suite struct TakingTurnsTests {
    typealias World = ChatFlowTests.World

    /// Every stage of every message asked has run: the hand-offs between stages are atomic, so
    /// empty queues mean nothing is left anywhere.
    static func finished(_ world: World) async -> Bool {
        for queue in ["retrieve", "generate", "reply"] where !(await world.settled(queue)) { return false }
        return true
    }

    static func toggles(_ world: World) -> [FakeService.Received] {
        world.chatwoot.requests.filter { $0.path.hasSuffix("/toggle_status") }
    }

    @Test func aConversationAnAgentTookOverGetsNoAutomaticAnswer() async throws {
        let world = try await World { _, _ in ChatFlowTests.completion("The pool is heated.") }
        // The agent takes it while the answer is being written: the reply stage asks Chatwoot first.
        world.chatwoot.conversations.withLock { $0[10]?.assignee = 3 }
        try await world.running {
            try await world.ask("Is the pool heated?")
            #expect(await eventually(timeout: .seconds(20)) { await Self.finished(world) && world.model.requests.count == 1 })
        }
        #expect(world.replies.isEmpty, "\(world.chatwoot.messages.map(\.content))")
        #expect(try await world.dead("reply") == 0)
        #expect(world.chatwoot.requests.contains { $0.method == "GET" && $0.path == "/api/v1/accounts/1/conversations/10" }, "\(world.chatwoot.requests.map { "\($0.method) \($0.path)" })")
    }

    @Test func underThePendingRuleAnOpenConversationIsThePeoples() async throws {
        let world = try await World(turn: .pending) { _, _ in ChatFlowTests.completion("Yes.") }
        world.chatwoot.conversations.withLock { $0[10]?.status = "open" }
        try await world.running {
            try await world.ask("Is breakfast included?")
            #expect(await eventually(timeout: .seconds(20)) { await Self.finished(world) && world.model.requests.count == 1 })
        }
        #expect(world.replies.isEmpty)
        world.chatwoot.conversations.withLock { $0[10]?.status = "pending" }
        try await world.running {
            try await world.ask("Is breakfast included?", messageID: 119)
            #expect(await eventually(timeout: .seconds(20)) { world.replies.count == 1 })
        }
    }

    /// Two messages arrive together, both asking for a person: the guest is told, in their language,
    /// and the conversation is opened once, with one note; the marker line never reaches the guest.
    @Test func aGuestAskingForAPersonIsHandedOverOnce() async throws {
        let world = try await World(botToken: "bot") { _, _ in ChatFlowTests.completion("HANDOFF\nUn collègue prend le relais ici dans un instant.") }
        world.chatwoot.conversations.withLock { $0[10]?.status = "pending" }
        try await world.running {
            try await world.ask("Je voudrais parler à quelqu'un, s'il vous plaît.", messageID: 118)
            try await world.ask("Une personne, pas un robot !", messageID: 119)
            #expect(await eventually(timeout: .seconds(20)) {
                await Self.finished(world) && world.model.requests.count == 2 && Self.toggles(world).count == 1
            })
        }
        let messages = world.chatwoot.messages
        let public_ = messages.filter { !$0.isPrivate }
        #expect(!public_.isEmpty && public_.allSatisfy { $0.content == "Un collègue prend le relais ici dans un instant." }, "\(messages.map(\.content))")
        #expect(!messages.contains { $0.content.contains("HANDOFF") })
        let notes = messages.filter(\.isPrivate)
        #expect(notes.count == 1 && notes[0].content.contains("asked for a person"), "\(notes.map(\.content))")
        #expect(Self.toggles(world).count == 1 && jsonFields(Self.toggles(world)[0].body)["status"] as? String == "open")
        #expect(world.chatwoot.conversations.value[10]?.status == "open")
        // The bot's token for what the bot says and does; the user's for every read.
        #expect(messages.allSatisfy { $0.byBot } && Self.toggles(world).allSatisfy { $0.headers["api_access_token"] == "bot" })
        #expect(world.chatwoot.requests.filter { $0.method == "GET" }.allSatisfy { $0.headers["api_access_token"] == "cw" })
        #expect(try await world.dead("reply") == 0)
    }

    /// Answers that fail for good (the model refuses the request) hand the conversation over once,
    /// however many messages failed.
    @Test func failedAnswersHandTheConversationOverOnce() async throws {
        let world = try await World { _, _ in
            FakeService.answer(.badRequest, #"{"error":{"message":"model_decommissioned","type":"invalid_request_error"}}"#)
        }
        world.chatwoot.conversations.withLock { $0[10]?.status = "pending" }
        try await world.running {
            try await world.ask("Is the pool heated?", messageID: 118)
            try await world.ask("And the sauna?", messageID: 119)
            #expect(await eventually(timeout: .seconds(20)) { (try? await world.dead("generate")) == 2 && Self.toggles(world).count == 1 })
        }
        let notes = world.chatwoot.messages.filter(\.isPrivate)
        #expect(notes.count == 1 && notes[0].content.contains("could not answer") && notes[0].content.contains("400"), "\(notes.map(\.content))")
        #expect(world.chatwoot.messages.allSatisfy { $0.isPrivate }, "the guest sees nothing of it")
        #expect(world.chatwoot.conversations.value[10]?.status == "open")
    }

    /// With HANDOFF_WITHOUT_KNOWLEDGE, a question nothing in the account's knowledge is close to
    /// goes to people instead of the model.
    @Test func aQuestionTheKnowledgeCannotAnswerGoesToPeopleWhenSoConfigured() async throws {
        let world = try await World(handOffWithoutKnowledge: true) { _, _ in ChatFlowTests.completion("unused") }
        try await world.running {
            // Account 3 has no knowledge at all.
            let message = ChatMessage(accountID: 3, conversationID: 10, inboxID: 1, messageID: 500, content: "Do you rent kayaks?", senderID: 14, senderName: "Ada")
            try await world.broker.add(try Flows.chat.request(message, dedupe: nil).envelope(), to: Flows.chat.queue)
            #expect(await eventually(timeout: .seconds(20)) { await Self.finished(world) && Self.toggles(world).count == 1 })
        }
        #expect(world.model.requests.isEmpty, "the model was not asked")
        let notes = world.chatwoot.messages
        #expect(notes.count == 1 && notes[0].isPrivate && notes[0].content.contains("nothing in the knowledge"), "\(notes.map(\.content))")
    }

    @Test func theModelsHandOffMarkIsReadOnlyOnItsOwnFirstLine() {
        let asked = HandoffRequest("HANDOFF\nA colleague will be with you.")
        #expect(asked.wantsPerson && asked.text == "A colleague will be with you.")
        #expect(HandoffRequest("  handoff.  ").wantsPerson && !HandoffRequest("  handoff.  ").text.isEmpty)
        #expect(!HandoffRequest("Our HANDOFF policy: none.").wantsPerson)
        #expect(!HandoffRequest("The check-in is at 3pm.\nHANDOFF").wantsPerson)
    }

    @Test func theRuleIsExplicit() throws {
        #expect(try AssistantTurn.configured(nil) == .unassigned && AssistantTurn.configured("PENDING") == .pending)
        #expect { try AssistantTurn.configured("always") } throws: { "\($0)".contains("ASSISTANT_ANSWERS") }
        for turn in AssistantTurn.allCases {
            #expect(!turn.answers(status: "pending", assigned: true, handedOff: false), "a person assigned: never")
            #expect(turn.answers(status: "pending", assigned: false, handedOff: true), "pending is the bot's again")
        }
        #expect(AssistantTurn.unassigned.answers(status: "open", assigned: false, handedOff: false))
        #expect(!AssistantTurn.unassigned.answers(status: "open", assigned: false, handedOff: true))
        #expect(!AssistantTurn.pending.answers(status: "open", assigned: false, handedOff: false))
    }
}
