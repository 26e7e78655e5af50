import Crypto
import Foundation
import Logging
import Queue
import Redis
import Services

/// A resolved conversation to learn from: the `knowledge.candidates` job's payload.
public struct ResolvedConversation: Codable, Sendable, Equatable {
    public var accountID: Int
    public var conversationID: Int

    public init(accountID: Int, conversationID: Int) {
        self.accountID = accountID
        self.conversationID = conversationID
    }

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case conversationID = "conversation_id"
    }
}

/// A general question agents answered, proposed as shared knowledge and waiting for a person to
/// approve it: nothing an agent said becomes an answer to guests by itself.
public struct KnowledgeCandidate: Codable, Sendable, Equatable {
    public var id: String
    public var question: String
    public var answer: String
    public var account: Int
    public var conversation: Int
    public var proposed: String

    /// The same question from the same conversation is the same candidate, however often proposed.
    static func id(conversation: Int, question: String) -> String {
        let normalized = question.lowercased().filter { $0.isLetter || $0.isNumber }
        let digest = SHA256.hash(data: Array("\(conversation):\(normalized)".utf8))
        return digest.prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// The knowledge source an approved candidate becomes.
    public var sourceID: String { "faq:\(id)" }
}

/// The candidates waiting for a person, and those a person turned down (never proposed again from
/// the same conversation), in Redis.
public struct KnowledgeCandidates: Sendable {
    public let pool: RedisPool
    public let keys: Keys

    public init(pool: RedisPool, keys: Keys) {
        self.pool = pool
        self.keys = keys
    }

    public func all() async throws -> [KnowledgeCandidate] {
        let decoder = JSONDecoder()
        return try await pool.send("HGETALL", keys.knowledgeCandidates).pairs
            .compactMap { pair in pair.value.string.flatMap { try? decoder.decode(KnowledgeCandidate.self, from: Data($0.utf8)) } }
            .sorted { ($0.proposed, $0.id) < ($1.proposed, $1.id) }
    }

    public func candidate(_ id: String) async throws -> KnowledgeCandidate? {
        guard let text = try await pool.send("HGET", keys.knowledgeCandidates, id).string else { return nil }
        return try JSONDecoder().decode(KnowledgeCandidate.self, from: Data(text.utf8))
    }

    /// Adds those not already waiting, approved or turned down; returns how many were added.
    @discardableResult
    func propose(_ candidates: [KnowledgeCandidate]) async throws -> Int {
        let sources = KnowledgeSources(pool: pool, keys: keys)
        var added = 0
        for candidate in candidates {
            if try await pool.send("SISMEMBER", keys.knowledgeRejected, candidate.id).integer == 1 { continue }
            if try await sources.source(candidate.sourceID) != nil { continue }
            let text = String(decoding: try KnowledgeSources.encoder.encode(candidate), as: UTF8.self)
            if try await pool.send("HSETNX", keys.knowledgeCandidates, candidate.id, text).integer == 1 { added += 1 }
        }
        return added
    }

    /// Takes a candidate out of the waiting list, once: true for the one call that took it.
    public func take(_ id: String) async throws -> Bool {
        try await pool.send("HDEL", keys.knowledgeCandidates, id).integer == 1
    }

    /// Turns a candidate down: out of the list, and never proposed again from its conversation.
    public func reject(_ id: String) async throws -> Bool {
        let replies = try await pool.pipeline([
            RedisCommand("HDEL", [keys.knowledgeCandidates, id]), RedisCommand("SADD", [keys.knowledgeRejected, id]),
        ])
        return replies.first?.integer == 1
    }

    public func waiting() async throws -> Int {
        try await pool.send("HLEN", keys.knowledgeCandidates).integer ?? 0
    }
}

/// `knowledge.candidates` (queue `knowledge`): when a conversation is resolved, reads it and asks
/// the model for the general questions the agents answered there — no names, dates, codes or
/// prices of one stay — each proposed as a candidate with the conversation it came from. A
/// candidate that still carries something of one guest (an email, a phone number, a code of four
/// digits or more) is dropped, whatever the model said.
public enum AnswerCandidates {
    public static let kind = "knowledge.candidates"
    public static let queue = KnowledgeIndexing.queue

    static let instruction = """
        You read a support conversation between a guest and the team of a holiday rental. List the \
        general questions the team answered there that any future guest could ask again, each with \
        the team's answer rewritten to stand on its own. Leave out everything about this one stay or \
        person: names, dates, door or key-box codes, passwords, prices, booking or confirmation \
        numbers, phone numbers, emails. Answer with JSON only, as {"faqs": [{"question": "...", \
        "answer": "..."}]}, and an empty list when there is none.
        """

    static func definition(_ services: FlowServices) -> JobDefinition {
        JobDefinition(kind: kind, queue: queue, retry: Flows.chat.retry, timeout: .seconds(120), payload: ResolvedConversation.self) {
            resolved, context in
            let history = try await services.chatwoot.messages(account: resolved.accountID, conversation: resolved.conversationID)
            let turns = history.filter { !$0.isPrivate && ($0.messageType == .incoming || $0.messageType == .outgoing) }
            guard turns.contains(where: { $0.messageType == .outgoing }), turns.contains(where: { $0.messageType == .incoming }) else {
                return .done
            }
            let transcript = turns.map { ($0.messageType == .incoming ? "Guest: " : "Team: ") + ($0.content ?? "") }.joined(separator: "\n")
            let completion = try await services.completions.complete([.system(instruction), .user(transcript)], temperature: 0)
            let proposed = parse(completion.text)
            let now = ISO8601DateFormatter().string(from: Date())
            let candidates = proposed.filter { !carriesSomeone($0.question + " " + $0.answer) }.map { pair in
                KnowledgeCandidate(
                    id: KnowledgeCandidate.id(conversation: resolved.conversationID, question: pair.question), question: pair.question,
                    answer: pair.answer, account: resolved.accountID, conversation: resolved.conversationID, proposed: now)
            }
            let added = try await KnowledgeCandidates(pool: context.redis, keys: services.keys).propose(candidates)
            await AssistantMetrics.recordKnowledge(pool: context.redis, keys: services.keys)
            context.logger.info(
                "answers proposed as knowledge",
                metadata: [
                    "chatwoot.conversation": "\(resolved.conversationID)", "knowledge.proposed": "\(proposed.count)",
                    "knowledge.added": "\(added)",
                ])
            return .done
        }
    }

    /// The model's question-and-answer pairs; nothing when its answer is not the JSON asked for.
    static func parse(_ text: String) -> [(question: String, answer: String)] {
        struct Answer: Decodable {
            struct Pair: Decodable {
                var question: String
                var answer: String
            }
            var faqs: [Pair]
        }
        guard let start = text.firstIndex(of: "{"), let end = text.lastIndex(of: "}"), start < end,
            let answer = try? JSONDecoder().decode(Answer.self, from: Data(text[start...end].utf8))
        else { return [] }
        return answer.faqs.prefix(20).compactMap { pair in
            let question = pair.question.trimmingCharacters(in: .whitespacesAndNewlines)
            let answer = pair.answer.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (3...500).contains(question.count), (1...2_000).contains(answer.count) else { return nil }
            return (question, answer)
        }
    }

    /// Whether text still carries something of one guest: an email, a run of four digits or more.
    static func carriesSomeone(_ text: String) -> Bool {
        text.contains("@")
            || text.range(of: #"\d[\d \-]{2,}\d"#, options: .regularExpression).map { text[$0].filter(\.isNumber).count >= 4 } == true
    }

    /// The job a resolved conversation starts.
    public static func request(_ resolved: ResolvedConversation, dedupe: String) throws -> JobRequest {
        let text = String(decoding: try FlowPayloadCoding.encoder.encode(resolved), as: UTF8.self)
        return JobRequest(queue: queue, kind: kind, payload: text, maxAttempts: Flows.chat.retry.maxAttempts, dedupe: dedupe)
    }

    /// Approves a candidate, as it is or with a person's edits: it becomes the account-wide
    /// knowledge source `faq:<id>`, indexed by a `knowledge.index` job. Nil when there is no such
    /// candidate (already approved, turned down, or never proposed).
    public static func approve(
        _ id: String, question: String? = nil, answer: String? = nil, pool: RedisPool, keys: Keys
    ) async throws -> (KnowledgeSource, JobRequest)? {
        let candidates = KnowledgeCandidates(pool: pool, keys: keys)
        guard var candidate = try await candidates.candidate(id) else { return nil }
        if let question { candidate.question = question }
        if let answer { candidate.answer = answer }
        // Taken once: of two approvals at the same moment, one makes the source.
        guard try await candidates.take(id) else { return nil }
        let text = "# \(candidate.question)\n\n\(candidate.answer)"
        let source = KnowledgeSource(
            id: candidate.sourceID, origin: "conversation \(candidate.conversation)", format: .markdown, listing: nil, restricted: false,
            hash: KnowledgeSource.contentHash(text: text, listing: nil, restricted: false), version: UUID().uuidString.lowercased(),
            updated: ISO8601DateFormatter().string(from: Date()))
        try await KnowledgeSources(pool: pool, keys: keys).ask(source, text: text)
        return (source, try KnowledgeIndexing.request(source))
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// Candidate id → a proposed question and answer waiting for a person (a hash).
    public var knowledgeCandidates: String { named("knowledge:candidates") }
    /// The candidates a person turned down (a set), never proposed again.
    public var knowledgeRejected: String { named("knowledge:rejected") }
}
