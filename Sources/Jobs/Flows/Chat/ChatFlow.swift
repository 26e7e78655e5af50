import Foundation
import Logging
import Queue
import Redis
import Services

/// A guest's text message answered in the conversation: `retrieve` (embed the question, search the
/// account's shared knowledge — never the private points of other guests' calls and bookings) →
/// `generate` (the chat model, with that context and the conversation's recent messages) → `reply`
/// (post it to Chatwoot). Each stage hands the next its job in the same atomic step as its own
/// acknowledgement, so a crash between stages neither loses nor doubles the flow; the reply stage
/// marks the message answered, so a repeated reply stage does not post twice.
public enum ChatFlow {
    public static let generateKind = "chat.generate"
    public static let generateQueue = "generate"
    public static let replyKind = "chat.reply"
    public static let replyQueue = "reply"

    public static func definitions(_ services: FlowServices) -> [JobDefinition] {
        [retrieve(services), generate(services), reply(services)].map { $0.givingUp(after: services.giveUpAfter) }
    }

    static func retrieve(_ services: FlowServices) -> JobDefinition {
        JobDefinition(
            kind: Flows.chat.kind, queue: Flows.chat.queue, retry: Flows.chat.retry, timeout: .seconds(30), payload: ChatMessage.self,
            onDeadLetter: { message, error, redis in try await tellAgents(services, redis, message.accountID, message.conversationID, error)
            }
        ) { message, context in
            // People first: a guest's message waits ASSISTANT_DELAY (put back, no attempt counted).
            if (message.audience ?? .guest) == .guest, services.assistantDelay > .zero {
                let waited = Duration.milliseconds(Int64(WallClock.millisecondsSince(context.enqueuedAt)))
                if waited < services.assistantDelay { return .later(services.assistantDelay - waited) }
            }
            if (message.audience ?? .guest) == .guest, let contact = message.senderID {
                try await KnownContacts.record(
                    pool: context.redis, keys: services.keys, account: message.accountID, contact: contact,
                    identities: (message.verifiedGuest ?? []).map(\.key), conversation: message.conversationID)
            }
            let retrieval = try await ChatRetrieval.run(services, redis: context.redis, message: message)
            if retrieval.handsOver(services) {
                await AssistantMetrics.count(.handedOverNoKnowledge, audience: message.audience, redis: context.redis, keys: services.keys)
                try await Handoff.handOver(
                    services, redis: context.redis, account: message.accountID, conversation: message.conversationID,
                    reason: "nothing in the knowledge answers the guest's last message (HANDOFF_WITHOUT_KNOWLEDGE).")
                return .done
            }
            let draft = retrieval.draft
            return .next(try next(generateKind, queue: generateQueue, draft, message: message, budgets: services.budgets))
        }
    }

    static func generate(_ services: FlowServices) -> JobDefinition {
        JobDefinition(
            kind: generateKind, queue: generateQueue, retry: Flows.chat.retry, timeout: .seconds(90), payload: ChatDraft.self,
            onDeadLetter: { draft, error, redis in
                try await tellAgents(services, redis, draft.message.accountID, draft.message.conversationID, error)
            }
        ) { draft, context in
            let composed = try await ChatComposition.run(services, draft: draft, logger: context.logger)
            var answer = composed.answer
            answer.grounded = !draft.context.isEmpty
            if composed.wantsPerson {
                // Said in text whatever the guest sent: the hand-off follows the reply.
                answer.handOff = true
                return .next(try next(replyKind, queue: replyQueue, answer, message: draft.message, budgets: services.budgets))
            }
            // Spoken by the synthesize stage, wherever it runs: this consumer's own lack of Azure
            // (the stack's llm service has none) says nothing about whether one can speak.
            if draft.message.replyAsVoice == true {
                return .next(
                    try next(
                        VoiceFlow.synthesizeKind, queue: VoiceFlow.synthesizeQueue, answer, message: draft.message, flow: Flows.voice,
                        budgets: services.budgets))
            }
            return .next(try next(replyKind, queue: replyQueue, answer, message: draft.message, budgets: services.budgets))
        }
    }

    static func reply(_ services: FlowServices) -> JobDefinition {
        JobDefinition(
            kind: replyKind, queue: replyQueue, retry: Flows.chat.retry, timeout: .seconds(30), payload: ChatAnswer.self,
            onDeadLetter: { answer, error, redis in try await tellAgents(services, redis, answer.accountID, answer.conversationID, error) }
        ) { answer, context in
            let audience = answer.audience ?? .guest
            // Whose turn it is matters for guests; the team and an agent's note are always answered.
            if audience == .guest {
                guard try await stillTheAssistantsTurn(services, context, answer) else { return .done }
            }
            let isPrivate = try await answersPrivately(services, context, answer)
            try await ReplyOnce.reply(
                services, context, account: answer.accountID, conversation: answer.conversationID, message: answer.messageID,
                content: answer.content, isPrivate: isPrivate
            ) {
                try await services.chatwoot.postMessage(
                    account: answer.accountID, conversation: answer.conversationID, content: answer.content,
                    isPrivate: isPrivate
                ).id
            }
            await AssistantMetrics.count(answered(answer), audience: answer.audience, redis: context.redis, keys: services.keys)
            if answer.handOff == true {
                try await Handoff.handOver(
                    services, redis: context.redis, account: answer.accountID, conversation: answer.conversationID,
                    reason: "the guest asked for a person.")
            }
            return .done
        }
    }

    /// Whether the assistant may post its answer to a guest now: it is still its turn and no person
    /// answered first; counted when it stays silent.
    static func stillTheAssistantsTurn(_ services: FlowServices, _ context: JobContext, _ answer: ChatAnswer) async throws -> Bool {
        guard try await assistantsTurn(services, context, account: answer.accountID, conversation: answer.conversationID) else {
            await AssistantMetrics.count(.silentPersonHasIt, audience: answer.audience, redis: context.redis, keys: services.keys)
            return false
        }
        guard try await !aPersonAnswered(services, context, answer) else {
            await AssistantMetrics.count(.silentPersonAnswered, audience: answer.audience, redis: context.redis, keys: services.keys)
            return false
        }
        return true
    }

    /// How a posted answer counts.
    static func answered(_ answer: ChatAnswer) -> AssistantMetrics.Outcome {
        answer.handOff == true ? .handedOverAsked : answer.grounded == false ? .answeredWithoutKnowledge : .answered
    }

    /// Whether a person wrote a public message in the conversation after the guest's message (an
    /// agent answered first, perhaps during `ASSISTANT_DELAY`): then the assistant stays silent. Our
    /// own posts (`Keys.postedPublicly`) and an agent bot's do not count; when the conversation
    /// cannot be read, the answer is posted (the guest is not left without one for a lookup).
    static func aPersonAnswered(_ services: FlowServices, _ context: JobContext, _ answer: ChatAnswer) async throws -> Bool {
        guard answer.messageID > 0 else { return false }
        // An earlier attempt of this reply already set out to post: ReplyOnce finishes its work.
        let marker = ReplyOnce.replyMarker(account: answer.accountID, message: answer.messageID)
        if try await SideEffects(pool: context.redis, keys: services.keys).read(marker) != nil { return false }
        let latest: [ChatwootClient.HistoryMessage]
        do {
            latest = try await services.chatwoot.messages(account: answer.accountID, conversation: answer.conversationID)
        } catch {
            context.logger.warning("cannot tell whether a person answered first; answering", metadata: ["error": "\(error)"])
            return false
        }
        let ownText = answer.content.trimmingCharacters(in: .whitespacesAndNewlines)
        let later = latest.filter {
            $0.id > answer.messageID && $0.messageType == .outgoing && !$0.isPrivate && $0.senderType != "agent_bot"
                && ($0.content ?? "").trimmingCharacters(in: .whitespacesAndNewlines) != ownText
        }
        guard !later.isEmpty else { return false }
        let ours = Set(
            try await context.redis.send(
                "SMEMBERS", services.keys.postedPublicly(account: answer.accountID, conversation: answer.conversationID)
            ).array?.compactMap(\.string) ?? [])
        guard
            let person = later.first(where: {
                !ours.contains(String($0.id)) && !ours.contains(ReplyOnce.fingerprint($0.content ?? ""))
            })
        else { return false }
        context.logger.info(
            "a person answered the guest first; the assistant stays silent",
            metadata: ["chatwoot.message": "\(person.id)", "chatwoot.conversation": "\(answer.conversationID)"])
        return true
    }

    /// Whether the assistant may still answer here, asked of Chatwoot just before posting: an
    /// agent may have taken the conversation while the answer was written. When Chatwoot cannot
    /// say, the answer is posted (the guest is not left without one for a lookup).
    static func assistantsTurn(_ services: FlowServices, _ context: JobContext, account: Int, conversation: Int) async throws -> Bool {
        try await assistantsTurn(services, redis: context.redis, logger: context.logger, account: account, conversation: conversation)
    }

    static func assistantsTurn(_ services: FlowServices, redis: RedisPool, logger: Logger, account: Int, conversation: Int) async throws
        -> Bool
    {
        let handedOff = try await Handoff.isHandedOff(services, redis: redis, account: account, conversation: conversation)
        let state: ChatwootClient.ConversationState
        do {
            state = try await services.chatwoot.conversationState(account: account, conversation: conversation)
        } catch {
            logger.warning("cannot tell whether a person has the conversation; answering", metadata: ["error": "\(error)"])
            return !handedOff
        }
        if handedOff, state.status == "pending", state.assigneeID == nil,
            try await Handoff.isComplete(services, redis: redis, account: account, conversation: conversation)
        {
            // Chatwoot gave the conversation back to the assistant.
            try await Handoff.forget(services, redis: redis, account: account, conversation: conversation)
            return true
        }
        guard services.turn.answers(status: state.status, assigned: state.assigneeID != nil, handedOff: handedOff) else {
            logger.info(
                "a person has the conversation; the assistant stays silent",
                metadata: [
                    "chatwoot.status": "\(state.status ?? "?")", "chatwoot.assignee": "\(state.assigneeID.map(String.init) ?? "none")",
                ])
            return false
        }
        return true
    }

    /// Whether an answer goes out as a private note. A guest's answer never: it holds only shared
    /// knowledge. An agent's always. The team's unless Chatwoot itself says the conversation is in
    /// a staff inbox (`staffInboxes`, an API inbox whose contacts are all staff): whatever the job
    /// says, knowledge drawn from private points is never posted where a guest could read it, and
    /// when Chatwoot cannot say, it is a private note.
    static func answersPrivately(_ services: FlowServices, _ context: JobContext, _ answer: ChatAnswer) async throws -> Bool {
        switch answer.audience ?? .guest {
        case .guest: return false
        case .agent: return true
        case .team:
            guard !services.staffInboxes.isEmpty else { return true }
            do {
                let state = try await services.chatwoot.conversationState(account: answer.accountID, conversation: answer.conversationID)
                let staff = state.inboxID.map(services.staffInboxes.contains) == true && state.channel == "Channel::Api"
                if !staff {
                    context.logger.info(
                        "the team's answer goes as a private note: the conversation is in no staff inbox",
                        metadata: [
                            "chatwoot.inbox": "\(state.inboxID.map(String.init) ?? "?")", "chatwoot.channel": "\(state.channel ?? "?")",
                        ])
                }
                return !staff
            } catch {
                context.logger.warning(
                    "cannot tell whether the conversation is a staff inbox's; the team's answer goes as a private note",
                    metadata: ["error": "\(error)"])
                return true
            }
        }
    }

    /// A dead-lettered stage hands the conversation to people, once, with a private note saying
    /// why; the guest sees nothing of it.
    static func tellAgents(_ services: FlowServices, _ redis: RedisPool, _ account: Int, _ conversation: Int, _ error: String) async throws
    {
        try await Handoff.handOver(
            services, redis: redis, account: account, conversation: conversation,
            reason: "it could not answer the guest's last message automatically; please reply yourself. Reason: \(error)")
    }

    /// The next stage's job, deduplicated per (flow, stage, message), its attempts from the flow's
    /// budget (`flow`: the voice flow's for the stages a voice message runs through).
    static func next<Payload: Encodable>(
        _ kind: String, queue: String, _ payload: Payload, message: ChatMessage,
        flow: FlowEntry = Flows.chat, budgets: RetryBudgets
    ) throws -> JobRequest {
        try flow.stage(kind, queue: queue).request(
            payload, dedupe: "chat:\(message.accountID):\(message.messageID):\(kind)", budgets: budgets)
    }
}

/// The question and what retrieval found for it: the generate stage's payload.
public struct ChatDraft: Codable, Sendable, Equatable {
    public var message: ChatMessage
    public var context: [String]
    /// For an agent's note: the verified identities the guest's own records were looked up by.
    public var guest: [VerifiedGuest]?
    /// For a guest: their own booking's facts, as the model is told them (`GuestKnowledge`).
    public var booking: String?

    public init(message: ChatMessage, context: [String], guest: [VerifiedGuest]? = nil) {
        self.message = message
        self.context = context
        self.guest = guest
    }
}

/// The answer to post: the reply stage's payload.
public struct ChatAnswer: Codable, Sendable, Equatable {
    public var accountID: Int
    public var conversationID: Int
    public var messageID: Int
    public var content: String
    /// The guest asked for a person: after the reply, the conversation is handed over.
    public var handOff: Bool?
    /// Who asked (nil: a guest): an agent's note is answered as a private note.
    public var audience: ChatMessage.Audience?
    /// Whether anything from the knowledge stood behind it (for the assistant's metrics).
    public var grounded: Bool?

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case conversationID = "conversation_id"
        case messageID = "message_id"
        case content
        case handOff = "hand_off"
        case audience, grounded
    }
}
