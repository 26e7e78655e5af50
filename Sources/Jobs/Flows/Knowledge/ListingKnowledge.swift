import Foundation
import Queue
import Services

/// A Guesty listing's guest-facing facts, as its `listing.new`/`listing.updated` webhook carries
/// them; `removed` for `listing.removed`. Guesty's private description and notes are never read
/// into it (the producer leaves them out), so they can never become knowledge.
public struct ListingFacts: Codable, Sendable, Equatable {
    public var event: String
    public var listingID: String
    public var removed: Bool
    public var title: String?
    public var address: String?
    public var checkInTime: String?
    public var checkOutTime: String?
    public var capacity: Int?
    public var bedrooms: Double?
    public var bathrooms: Double?
    public var summary: String?
    public var space: String?
    public var access: String?
    public var transit: String?
    public var neighborhood: String?
    public var houseRules: String?
    public var notes: String?
    public var amenities: [String]?

    public init(event: String, listingID: String, removed: Bool = false) {
        self.event = event
        self.listingID = listingID
        self.removed = removed
    }

    enum CodingKeys: String, CodingKey {
        case event, removed, title, address, capacity, bedrooms, bathrooms, summary, space, access, transit, neighborhood, notes, amenities
        case listingID = "listing_id"
        case checkInTime = "check_in_time"
        case checkOutTime = "check_out_time"
        case houseRules = "house_rules"
    }

    /// The listing as a document: one section per subject, so each answer can say where it comes
    /// from; how to get in (`access`) is a restricted section, as door codes often stand there.
    var document: String {
        var sections: [String] = []
        var overview: [String] = []
        if let address { overview.append("Address: \(address)") }
        if let checkInTime { overview.append("Check-in from \(checkInTime).") }
        if let checkOutTime { overview.append("Check-out by \(checkOutTime).") }
        if let capacity { overview.append("Sleeps \(capacity).") }
        if let bedrooms { overview.append("Bedrooms: \(Self.number(bedrooms)).") }
        if let bathrooms { overview.append("Bathrooms: \(Self.number(bathrooms)).") }
        if let summary { overview.append(summary) }
        sections.append("# \(title ?? "Listing \(listingID)")\n\n" + overview.joined(separator: "\n\n"))
        for (heading, text) in [
            ("The space", space), ("Getting in [restricted]", access), ("Getting around", transit), ("The neighbourhood", neighborhood),
            ("House rules", houseRules), ("Good to know", notes),
        ] {
            if let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { sections.append("## \(heading)\n\n\(text)") }
        }
        if let amenities, !amenities.isEmpty { sections.append("## Amenities\n\n" + amenities.joined(separator: ", ")) }
        return sections.joined(separator: "\n\n")
    }

    static func number(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
}

/// `knowledge.listing` (queue `knowledge`): a listing's facts made knowledge of that listing —
/// source `listing:<id>`, replaced on every update (the same machinery as `knowledge add`: the
/// previous version stays until the new one is whole), removed with the listing. An update that
/// changes nothing guests read calls no embedding service.
public enum ListingKnowledge {
    public static let kind = "knowledge.listing"
    public static let queue = KnowledgeIndexing.queue

    static func definition(_ services: FlowServices) -> JobDefinition {
        JobDefinition(
            kind: kind, queue: queue, retry: KnowledgeIndexing.retry, timeout: .seconds(300), restartable: true, payload: ListingFacts.self,
            onDeadLetter: { facts, error, redis in
                let sources = KnowledgeSources(pool: redis, keys: services.keys)
                guard let source = try await sources.source(sourceID(facts.listingID)) else { return }
                try await KnowledgeIndexing.failed(
                    services, redis: redis, KnowledgeIndexRequest(source: source.id, version: source.version), error: error)
            }
        ) { facts, context in
            let sources = KnowledgeSources(pool: context.redis, keys: services.keys)
            let id = sourceID(facts.listingID)
            if facts.removed {
                if let removed = try await sources.remove(id) {
                    try await services.qdrant.delete(QdrantFilter(must: [.equals("source_id", .string(removed.pointSource))]))
                }
                await AssistantMetrics.recordKnowledge(pool: context.redis, keys: services.keys)
                return .done
            }
            let text = facts.document
            let hash = KnowledgeSource.contentHash(text: text, listing: facts.listingID, restricted: false)
            // The version follows from the content: a retry asks for the same one, writing the same points.
            let version = "listing-" + hash.prefix(32)
            let known = try await sources.source(id)
            if let known, known.hash == hash, known.state == .ready { return .done }
            // Asked for on every try: the same version, text and points each time.
            try await sources.ask(
                KnowledgeSource(
                    id: id, origin: "Guesty \(facts.event)", format: .markdown, listing: facts.listingID, restricted: false, hash: hash,
                    version: version, updated: ISO8601DateFormatter().string(from: Date())),
                text: text)
            return try await KnowledgeIndexing.index(
                services, redis: context.redis, logger: context.logger, KnowledgeIndexRequest(source: id, version: version))
        }
    }

    public static func sourceID(_ listing: String) -> String { "listing:\(listing)" }

    /// The job a listing webhook starts.
    public static func request(_ facts: ListingFacts, dedupe: String) throws -> JobRequest {
        let text = String(decoding: try FlowPayloadCoding.encoder.encode(facts), as: UTF8.self)
        return JobRequest(queue: queue, kind: kind, payload: text, maxAttempts: KnowledgeIndexing.retry.maxAttempts, dedupe: dedupe)
    }
}
