import Foundation
import Queue
import Redis
import Services

/// A question to try the assistant with, as `switchboard ask` and the console's "Try a question"
/// take it: who asks, and as which guest.
public struct TrialQuestion: Codable, Sendable, Equatable {
    /// The id its outcome is kept under (the console's link to it).
    public var id: String
    public var question: String
    public var audience: ChatMessage.Audience
    /// Ask as the guest of this conversation (the identities verified for it find their stay).
    public var conversation: Int?
    /// Ask as the guest with this phone number or email, as if the channel vouched for it.
    public var contact: String?

    public init(
        id: String = UUID().uuidString.lowercased(), question: String, audience: ChatMessage.Audience, conversation: Int?, contact: String?
    ) {
        self.id = id
        self.question = question
        self.audience = audience
        self.conversation = conversation
        self.contact = contact
    }

    /// What is wrong with it, said as the person who asked can mend it; nil when nothing is.
    public var problem: String? {
        let text = question.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return "ask a question" }
        if text.count > 2_000 { return "a question of at most 2,000 characters" }
        if let conversation, conversation <= 0 { return "the conversation is a positive id" }
        if let contact, VerifiedGuest.given(contact).isEmpty { return "'\(contact.prefix(60))' is neither a phone number nor an email" }
        return nil
    }

    /// The message the chat flow would have taken, in `account`.
    public func message(account: Int) -> ChatMessage {
        ChatMessage(
            accountID: account, conversationID: conversation ?? 0, inboxID: nil, messageID: 0, content: question, senderID: nil,
            senderName: nil, audience: audience, verifiedGuest: contact.map(VerifiedGuest.given))
    }
}

/// `knowledge.trial` (queue `knowledge`): the console's "Try a question", answered by a consumer —
/// which holds the model's, the embeddings' and Qdrant's keys the console does not — exactly as
/// `switchboard ask` answers it, nothing posted. The outcome (the trace, or why it failed) is kept
/// for an hour under the question's id, where the console reads it.
public enum TrialQuestions {
    public static let kind = "knowledge.trial"
    public static let queue = KnowledgeIndexing.queue
    public static let retry = RetryPolicy.exponentialJitter(maxAttempts: 3, base: .seconds(2), cap: .seconds(10))
    /// How long an outcome is kept.
    static let kept = 3_600

    /// What became of a question tried.
    public enum Outcome: Codable, Sendable {
        case answered(AnswerTrial)
        case failed(String)
    }

    static func definition(_ services: FlowServices) -> JobDefinition {
        JobDefinition(
            kind: kind, queue: queue, retry: retry, timeout: .seconds(120), payload: TrialQuestion.self,
            onDeadLetter: { question, error, redis in
                try await keep(.failed(error), for: question.id, redis: redis, keys: services.keys)
            }
        ) { question, context in
            guard let account = services.account else { throw JobFailure.permanent("trying a question needs CHATWOOT_ACCOUNT_ID") }
            if let problem = question.problem { throw JobFailure.permanent(problem) }
            let trial = try await AnswerTrial.run(
                services, redis: context.redis, message: question.message(account: account), logger: context.logger)
            try await keep(.answered(trial), for: question.id, redis: context.redis, keys: services.keys)
            return .done
        }
    }

    /// The job that tries `question`.
    public static func request(_ question: TrialQuestion) throws -> JobRequest {
        let payload = String(decoding: try FlowPayloadCoding.encoder.encode(question), as: UTF8.self)
        return JobRequest(queue: queue, kind: kind, payload: payload, maxAttempts: retry.maxAttempts)
    }

    /// The outcome of question `id`; nil while it is still being answered (or after an hour).
    public static func outcome(_ id: String, pool: RedisPool, keys: Keys) async throws -> Outcome? {
        guard let text = try await pool.send("GET", keys.knowledgeTrial(id)).string else { return nil }
        return try JSONDecoder().decode(Outcome.self, from: Data(text.utf8))
    }

    static func keep(_ outcome: Outcome, for id: String, redis: RedisPool, keys: Keys) async throws {
        let text = String(decoding: try JSONEncoder().encode(outcome), as: UTF8.self)
        try await redis.send("SET", keys.knowledgeTrial(id), text, "EX", String(kept))
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// A tried question's outcome, kept an hour (a string).
    public func knowledgeTrial(_ id: String) -> String { named("knowledge:trial:\(id)") }
}
