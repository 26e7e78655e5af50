import Foundation
import Logging
import Redis
import Services

/// A question answered exactly as the chat flow would answer it — the same retrieval, the same
/// filter, the same prompt — with nothing posted and everything shown: each piece retrieved (its
/// text, source, listing, score, restricted or not), the booking facts used, what was left out and
/// why, the answer, and whether it would go to a person. What `switchboard ask` prints, so a
/// front-desk lead can try the assistant before guests meet it.
public struct AnswerTrial: Codable, Sendable {
    public struct Piece: Codable, Sendable {
        public var source: String
        public var title: String?
        public var listing: String?
        public var score: Double
        public var restricted: Bool
        public var text: String
    }

    /// A piece of the account's knowledge close to the question that the answer did not use; a
    /// guest's private record is named by its source only, its text not shown.
    public struct LeftOut: Codable, Sendable {
        public var source: String
        public var title: String?
        public var score: Double
        public var reason: String
    }

    public var audience: String
    public var pieces: [Piece]
    public var booking: String?
    public var restrictedOpen: Bool
    public var leftOut: [LeftOut]
    public var answer: String?
    /// Why the answer would go to a person instead, or nil.
    public var handOver: String?

    enum CodingKeys: String, CodingKey {
        case audience, pieces, booking, answer
        case restrictedOpen = "restricted_open"
        case leftOut = "left_out"
        case handOver = "hand_over"
    }

    public static func run(_ services: FlowServices, redis: RedisPool, message: ChatMessage, logger: Logger) async throws -> AnswerTrial {
        let retrieval = try await ChatRetrieval.run(services, redis: redis, message: message)
        let used = Set(retrieval.hits.map { "\($0.id)" })
        let pieces = retrieval.hits.map { hit in
            Piece(
                source: hit.payload?["source_id"]?.string ?? "?", title: hit.payload?["title"]?.string,
                listing: hit.payload?["listing_id"]?.string, score: hit.score, restricted: hit.payload?["restricted"] == .bool(true),
                text: hit.payload?["text"]?.string ?? "")
        }
        // What else of the account lies close to the question, and why each was not used.
        let around = try await services.qdrant.query(
            retrieval.vector, limit: services.contextLimit * 4,
            filter: QdrantFilter(must: [.equals("account_id", .integer(message.accountID))]))
        let audience = message.audience ?? .guest
        let leftOut = around.filter { !used.contains("\($0.id)") }.map { hit in
            LeftOut(
                source: hit.payload?["source_id"]?.string ?? "?", title: hit.payload?["title"]?.string, score: hit.score,
                reason: reason(hit, audience: audience, retrieval: retrieval, threshold: services.scoreThreshold))
        }
        var trial = AnswerTrial(
            audience: audience.rawValue, pieces: pieces, booking: retrieval.draft.booking, restrictedOpen: retrieval.restrictedOpen,
            leftOut: leftOut)
        if retrieval.handsOver(services) {
            trial.handOver = "nothing in the knowledge answers the question and HANDOFF_WITHOUT_KNOWLEDGE is 1"
            return trial
        }
        let composed = try await ChatComposition.run(services, draft: retrieval.draft, logger: logger)
        trial.answer = composed.answer.content
        if composed.wantsPerson { trial.handOver = "the model asked for a person" }
        return trial
    }

    static func reason(_ hit: QdrantClient.ScoredPoint, audience: ChatMessage.Audience, retrieval: ChatRetrieval, threshold: Double?)
        -> String
    {
        let payload = hit.payload ?? [:]
        if payload["staging"] == .bool(true) { return "a version still being indexed" }
        if audience == .guest {
            if payload["private"] == .bool(true) { return "a guest's private record" }
            if let listing = payload["listing_id"]?.string, listing != retrieval.stay?.listingID {
                return retrieval.stay == nil ? "knowledge of listing \(listing); this guest has no stay" : "another listing's (\(listing))"
            }
            if payload["restricted"] == .bool(true), !retrieval.restrictedOpen {
                return "restricted: open only during a confirmed stay at its listing"
            }
        }
        if audience == .agent, payload["private"] == .bool(true) { return "another guest's private record" }
        if let threshold, hit.score < threshold { return String(format: "below the score threshold (%.2f < %.2f)", hit.score, threshold) }
        return "beyond the \(retrieval.hits.count) pieces the answer takes"
    }
}
