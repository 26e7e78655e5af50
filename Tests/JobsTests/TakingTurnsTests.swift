import Foundation
import Hummingbird
import Logging
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

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
        #expect(
            world.chatwoot.requests.contains { $0.method == "GET" && $0.path == "/api/v1/accounts/1/conversations/10" },
            "\(world.chatwoot.requests.map { "\($0.method) \($0.path)" })")
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
        let world = try await World(botToken: "bot") { _, _ in
            ChatFlowTests.completion("HANDOFF\nUn collègue prend le relais ici dans un instant.")
        }
        world.chatwoot.conversations.withLock { $0[10]?.status = "pending" }
        try await world.running {
            try await world.ask("Je voudrais parler à quelqu'un, s'il vous plaît.", messageID: 118)
            try await world.ask("Une personne, pas un robot !", messageID: 119)
            #expect(
                await eventually(timeout: .seconds(20)) {
                    await Self.finished(world) && world.model.requests.count == 2 && Self.toggles(world).count == 1
                })
        }
        let messages = world.chatwoot.messages
        let public_ = messages.filter { !$0.isPrivate }
        #expect(
            !public_.isEmpty && public_.allSatisfy { $0.content == "Un collègue prend le relais ici dans un instant." },
            "\(messages.map(\.content))")
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

    /// Another stage is handing the conversation over (its mark set, the note and the toggle not
    /// yet done, so Chatwoot still says pending): that is no give-back. The mark stays and no second
    /// note or toggle is made (the guest may be told again that a colleague comes).
    @Test func aHandOffUnderWayIsNotTakenForAGiveBack() async throws {
        let world = try await World(botToken: "bot") { _, _ in ChatFlowTests.completion("HANDOFF\nA colleague will take over here shortly.")
        }
        world.chatwoot.conversations.withLock { $0[10]?.status = "pending" }
        let mark = world.services.keys.done(Handoff.marker(account: 1, conversation: 10))
        try await world.pool.send("SET", mark, "handing \(WallClock.unixMilliseconds())", "PX", "60000")
        try await world.running {
            try await world.ask("I want to talk to a human", messageID: 118)
            #expect(await eventually(timeout: .seconds(20)) { await Self.finished(world) && world.model.requests.count <= 1 })
        }
        #expect(try await world.pool.send("GET", mark).string?.hasPrefix("handing ") == true, "the mark of the hand-off under way stays")
        #expect(
            world.chatwoot.messages.filter(\.isPrivate).isEmpty && Self.toggles(world).isEmpty, "\(world.chatwoot.messages.map(\.content))")
        // Once that hand-off is complete and Chatwoot gives the conversation back, it is the assistant's again.
        try await world.pool.send("SET", mark, "done \(WallClock.unixMilliseconds())", "PX", "60000")
        #expect(
            try await ChatFlow.assistantsTurn(
                world.services, redis: world.pool, logger: Logger(label: "test"), account: 1, conversation: 10))
        #expect(try await world.pool.send("EXISTS", mark).integer == 0)
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
        #expect(
            notes.count == 1 && notes[0].content.contains("could not answer") && notes[0].content.contains("400"), "\(notes.map(\.content))"
        )
        #expect(world.chatwoot.messages.allSatisfy { $0.isPrivate }, "the guest sees nothing of it")
        #expect(world.chatwoot.conversations.value[10]?.status == "open")
    }

    /// With HANDOFF_WITHOUT_KNOWLEDGE, a question nothing in the account's knowledge is close to
    /// goes to people instead of the model.
    @Test func aQuestionTheKnowledgeCannotAnswerGoesToPeopleWhenSoConfigured() async throws {
        let world = try await World(handOffWithoutKnowledge: true) { _, _ in ChatFlowTests.completion("unused") }
        try await world.running {
            // Account 3 has no knowledge at all.
            let message = ChatMessage(
                accountID: 3, conversationID: 10, inboxID: 1, messageID: 500, content: "Do you rent kayaks?", senderID: 14,
                senderName: "Ada")
            try await world.broker.add(try Flows.chat.request(message, dedupe: nil).envelope(), to: Flows.chat.queue)
            #expect(await eventually(timeout: .seconds(20)) { await Self.finished(world) && Self.toggles(world).count == 1 })
        }
        #expect(world.model.requests.isEmpty, "the model was not asked")
        let notes = world.chatwoot.messages
        #expect(notes.count == 1 && notes[0].isPrivate && notes[0].content.contains("nothing in the knowledge"), "\(notes.map(\.content))")
    }

    /// Two guests' private points (a call of Ada's, a booking of Bob's) beside the shared knowledge.
    static func privatePoints(_ world: World) async throws {
        try await world.services.qdrant.upsert([
            .init(
                id: QdrantClient.pointID(for: "aircall:call:9001#0"), vector: [1, 0, 0],
                payload: [
                    "account_id": .integer(1), "private": .bool(true), "source_id": .string("aircall:call:9001"),
                    "guest_keys": .array([.string("phone:33612345678")]), "text": .string("Caller asked whether she may bring her dog."),
                ]),
            .init(
                id: QdrantClient.pointID(for: "guesty:reservation:R-7#0"), vector: [1, 0, 0],
                payload: [
                    "account_id": .integer(1), "private": .bool(true), "source_id": .string("guesty:reservation:R-7"),
                    "guest_keys": .array([.string("email:bob@example.com")]), "text": .string("Bob Stone arrives on 2099-03-01."),
                ]),
        ])
    }

    static func prompt(_ world: World) throws -> String {
        let request = try #require(world.model.requests.last)
        return try #require((jsonFields(request.body)["messages"] as? [[String: String]])?.first?["content"])
    }

    static func queryFilter(_ world: World) throws -> [String: Any]? {
        let query = try #require(world.qdrantService.requests.last { $0.path.hasSuffix("/points/query") })
        return jsonFields(query.body)["filter"] as? [String: Any]
    }

    /// A member of the team asks (Maya, agent 3, who also has the conversation): answered whoever
    /// is assigned, once.
    static func teamAsks(
        _ question: ChatMessage, answer: String, staffInboxes: Set<Int> = [],
        before: (World) async throws -> Void = { _ in }
    ) async throws -> World {
        let world = try await World(staffInboxes: staffInboxes) { _, _ in ChatFlowTests.completion(answer) }
        try await privatePoints(world)
        world.chatwoot.conversations.withLock { $0[10]?.assignee = 3 }
        try await before(world)
        try await world.running {
            try await world.broker.add(try Flows.chat.request(question, dedupe: nil).envelope(), to: Flows.chat.queue)
            #expect(await eventually(timeout: .seconds(20)) { await Self.finished(world) && world.replies.count == 1 })
        }
        return world
    }

    @Test func aQuestionInATeamInboxIsAnsweredFromAllTheKnowledgeWithItsSourcesAsAPrivateNote() async throws {
        let world = try await Self.teamAsks(
            ChatMessage(
                accountID: 1, conversationID: 10, inboxID: 7, messageID: 600, content: "Who asked about a dog?",
                senderID: 3, senderName: "Maya", audience: .team),
            answer: "She asked about her dog [aircall:call:9001].")
        let prompt = try Self.prompt(world)
        #expect(
            prompt.contains("[aircall:call:9001] Caller asked whether she may bring her dog.")
                && prompt.contains("[guesty:reservation:R-7]"))
        #expect(prompt.contains("name its source"))
        #expect(world.chatwoot.messages.count == 1 && world.chatwoot.messages[0].isPrivate, "private knowledge goes as a private note")
        let filter = try Self.queryFilter(world)
        // Every point of the account but a document's version still being indexed.
        let hidden = (filter?["must_not"] as? [[String: Any]])?.compactMap { $0["key"] as? String }
        #expect(hidden == ["staging"] && filter?["should"] == nil, "the team sees every point of the account: \(filter ?? [:])")
    }

    /// In a staff inbox — an API inbox whose contacts are all staff, as Chatwoot says of the
    /// conversation — the team's answer is posted in the open; anywhere else, whatever the job
    /// says, it is a private note.
    @Test(arguments: [(9, "Channel::Api", false), (9, "Channel::WebWidget", true), (1, "Channel::Api", true)])
    func theTeamsAnswerIsOpenOnlyWhereChatwootSaysTheContactsAreStaff(_ inbox: Int, _ channel: String, _ privately: Bool) async throws {
        let world = try await Self.teamAsks(
            ChatMessage(
                accountID: 1, conversationID: 10, inboxID: 9, messageID: 602, content: "Who asked about a dog?",
                senderID: 3, senderName: "Maya", audience: .team),
            answer: "She asked about her dog [aircall:call:9001].", staffInboxes: [9]
        ) { world in
            world.chatwoot.conversations.withLock {
                $0[10]?.inbox = inbox; $0[10]?.channel = channel
            }
        }
        #expect(world.chatwoot.messages.count == 1 && world.chatwoot.messages[0].isPrivate == privately, "inbox \(inbox) \(channel)")
    }

    /// An agent's note draws on the guest's own records only by identities something other than
    /// the guest verified — the channel's number, a call's, a reservation's — and says which.
    @Test func anAgentsNoteIsAnsweredPrivatelyWithTheVerifiedGuestsKnowledgeAndNoOtherGuests() async throws {
        let whatsapp = VerifiedGuest(key: "phone:33612345678", source: "the number this Whatsapp conversation comes from")
        let world = try await Self.teamAsks(
            ChatMessage(
                accountID: 1, conversationID: 10, inboxID: 1, messageID: 601, content: "did she ask about a dog?",
                senderID: 3, senderName: "Maya", audience: .agent, verifiedGuest: [whatsapp]),
            answer: "Yes: she asked to bring her dog [aircall:call:9001]."
        ) { world in
            try await VerifiedGuest.record(
                [VerifiedGuest(key: "email:ada@example.com", source: "reservation R-1 (Guesty)")],
                pool: world.pool, keys: world.services.keys, account: 1, conversation: 10)
        }
        let prompt = try Self.prompt(world)
        #expect(
            prompt.contains("Caller asked whether she may bring her dog.") && prompt.contains("pool is heated"),
            "hers and the shared knowledge")
        #expect(!prompt.contains("Bob Stone"), "never another guest's")
        let reply = try #require(world.chatwoot.messages.first)
        #expect(reply.isPrivate && reply.content.contains("dog"), "the guest sees nothing of it")
        #expect(
            reply.content.contains("phone:33612345678 — the number this Whatsapp conversation comes from")
                && reply.content.contains("email:ada@example.com — reservation R-1 (Guesty)"), "\(reply.content)")
        let filter = try #require(try Self.queryFilter(world))
        let should = filter["should"] as? [[String: Any]] ?? []
        #expect(
            should.count == 2
                && ((should[1]["match"] as? [String: Any])?["any"] as? [String]) == ["phone:33612345678", "email:ada@example.com"],
            "\(filter)")
    }

    /// Without a verified identity (the guest only typed one), the note uses shared knowledge and says so.
    @Test func anAgentsNoteWithoutAVerifiedGuestUsesSharedKnowledgeOnly() async throws {
        let world = try await Self.teamAsks(
            ChatMessage(
                accountID: 1, conversationID: 10, inboxID: 1, messageID: 603, content: "what did Bob book?",
                senderID: 3, senderName: "Maya", audience: .agent),
            answer: "I do not know.")
        let prompt = try Self.prompt(world)
        #expect(!prompt.contains("Bob Stone") && !prompt.contains("dog"), "no guest's private points")
        let reply = try #require(world.chatwoot.messages.first)
        #expect(reply.isPrivate && reply.content.contains("No identity of this guest is verified"), "\(reply.content)")
    }

    /// However the model writes the marker, the hand-off happens and the guest never reads it.
    @Test(arguments: [
        ("HANDOFF\nA colleague will be with you.", "A colleague will be with you."),
        ("HANDOFF: A colleague will be with you.", "A colleague will be with you."),
        ("handoff\nA colleague will be with you.", "A colleague will be with you."),
        ("Handoff - A colleague will be with you.", "A colleague will be with you."),
        ("`HANDOFF`\nA colleague will be with you.", "A colleague will be with you."),
        ("**HANDOFF**\n\nA colleague will be with you.", "A colleague will be with you."),
        ("[HANDOFF] A colleague will be with you.", "A colleague will be with you."),
        ("A colleague will be with you.\nHANDOFF", "A colleague will be with you."),
        ("A colleague will be with you. HANDOFF", "A colleague will be with you."),
        ("  handoff.  ", "A colleague will take over here shortly."),
        ("`handoff`", "A colleague will take over here shortly."),
    ])
    func theModelsHandOffMarkIsTheHandOffWhereverItStandsAndNeverShown(_ answer: String, _ shown: String) {
        let asked = HandoffRequest(answer)
        #expect(asked.wantsPerson, "\(answer)")
        #expect(asked.text == shown, "\(answer) → \(asked.text)")
        #expect(!asked.text.lowercased().contains("handoff"))
    }

    @Test func anAnswerWithoutTheMarkIsShownAsItIs() {
        #expect(!HandoffRequest("The check-in is at 3pm.").wantsPerson)
        #expect(HandoffRequest("  The check-in is at 3pm.\n").text == "The check-in is at 3pm.")
        // A word that only contains the marker is not it.
        #expect(!HandoffRequest("The handoffs of keys happen at the desk.").wantsPerson)
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
