import Foundation
import Logging
import Queue
import Redis
import Services

/// What retrieval finds for a question, run the same way by the retrieve stage and by
/// `switchboard ask`: who asks decides the filter (a guest: `GuestKnowledge`; the team: the
/// account's every point; an agent's note: the shared knowledge and this guest's own records), and
/// the filter is what Qdrant enforces.
public struct ChatRetrieval: Sendable {
    public var vector: [Float]
    /// The filter the query ran under.
    public var filter: QdrantFilter
    public var hits: [QdrantClient.ScoredPoint]
    public var draft: ChatDraft
    /// For a guest: their stay, and whether restricted knowledge is open to them today.
    public var stay: BookingChange?
    public var restrictedOpen: Bool

    public static func run(_ services: FlowServices, redis: RedisPool, message: ChatMessage) async throws -> ChatRetrieval {
        let vector = try await services.embeddings.embed([message.content]).first ?? []
        let audience = message.audience ?? .guest
        var guest: [VerifiedGuest] = []
        if audience == .agent {
            let recorded = try await VerifiedGuest.recorded(
                pool: redis, keys: services.keys, account: message.accountID, conversation: message.conversationID)
            for identity in (message.verifiedGuest ?? []) + recorded where !guest.contains(where: { $0.key == identity.key }) {
                guest.append(identity)
            }
        }
        let account = QdrantFilter.Condition.equals("account_id", .integer(message.accountID))
        // Never a version of a document still being indexed.
        let indexing = QdrantFilter.Condition.equals("staging", .bool(true))
        var knowledge: GuestKnowledge?
        let filter: QdrantFilter
        switch audience {
        case .guest:
            // Never what is known privately about any guest; of a listing's knowledge only their
            // own stay's, its restricted part only while their confirmed stay is open.
            let found = try await GuestKnowledge.find(services, redis: redis, message: message, today: services.today())
            knowledge = found
            filter = found.filter(account: message.accountID)
        case .team:
            filter = QdrantFilter(must: [account], mustNot: [indexing])
        case .agent:
            // The shared knowledge and this guest's own calls and bookings; never another guest's.
            filter = QdrantFilter(
                must: [account], mustNot: [indexing],
                should: [.nested(QdrantFilter(mustNot: [.equals("private", .bool(true))])), .any("guest_keys", guest.map(\.key))])
        }
        let hits = try await services.qdrant.query(
            vector, limit: services.contextLimit, filter: filter, scoreThreshold: services.scoreThreshold)
        var draft = ChatDraft(
            message: message,
            context: hits.compactMap { hit in
                // For the team, each fact says where it comes from, so staff can check it.
                hit.payload?["text"]?.string.map { text in
                    audience == .guest ? text : "[\(hit.payload?["source_id"]?.string ?? "knowledge")] \(text)"
                }
            })
        if audience == .agent { draft.guest = guest }
        draft.booking = knowledge?.bookingFacts
        return ChatRetrieval(
            vector: vector, filter: filter, hits: hits, draft: draft, stay: knowledge?.stay, restrictedOpen: knowledge?.accessOpen ?? false)
    }

    /// Whether the retrieve stage hands the question to people instead of the model: a guest's
    /// question nothing in the knowledge answers, when `HANDOFF_WITHOUT_KNOWLEDGE` says so.
    public func handsOver(_ services: FlowServices) -> Bool {
        draft.context.isEmpty && services.handOffWithoutKnowledge && (draft.message.audience ?? .guest) == .guest
    }
}

/// The model's answer to a draft, as the generate stage and `switchboard ask` both make it: the
/// system prompt with the guest's booking and what retrieval found, the conversation's recent turns,
/// the question.
public struct ChatComposition: Sendable {
    public var prompt: String
    public var answer: ChatAnswer
    /// The model asked for a person (a guest's answer only).
    public var wantsPerson: Bool

    public static func run(_ services: FlowServices, draft: ChatDraft, logger: Logger) async throws -> ChatComposition {
        var prompt = services.systemPrompt
        if let booking = draft.booking {
            prompt += "\n\nThis guest's booking (theirs alone; no other booking is known to you): \(booking)"
        }
        if !draft.context.isEmpty {
            prompt +=
                "\n\nWhat we know that may help (use only what is relevant):\n" + draft.context.map { "- \($0)" }.joined(separator: "\n")
        }
        let message = draft.message
        // The conversation so far helps the answer but is not worth the guest's answer: if it
        // cannot be read (a token that may not read it, an answer we do not understand, Chatwoot
        // slow or down), the model answers the question alone.
        var turns: [ChatCompletionsClient.Message] = []
        if message.conversationID > 0 {
            do {
                let history = try await services.chatwoot.messages(
                    account: message.accountID, conversation: message.conversationID,
                    before: message.messageID > 0 ? message.messageID : nil)
                turns = ConversationHistory.turns(history, before: message.messageID, limit: services.historyLimit)
            } catch {
                logger.warning("answering without the conversation's history: it could not be read", metadata: ["error": "\(error)"])
            }
        }
        let audience = message.audience ?? .guest
        if audience == .guest {
            prompt += "\n\n" + HandoffRequest.instruction
        } else {
            prompt +=
                "\n\nYou are answering a member of the team, not a guest. After each fact you use, name its source as given in brackets."
        }
        let completion = try await services.completions.complete([.system(prompt)] + turns + [.user(message.content)])
        let said = audience == .guest ? HandoffRequest(completion.text) : HandoffRequest(text: completion.text)
        // An agent's answer says whose records it could draw on.
        let content = audience == .agent ? said.text + "\n\n" + VerifiedGuest.note(draft.guest ?? []) : said.text
        var answer = ChatAnswer(
            accountID: message.accountID, conversationID: message.conversationID, messageID: message.messageID, content: content)
        answer.audience = message.audience
        return ChatComposition(prompt: prompt, answer: answer, wantsPerson: said.wantsPerson)
    }
}
