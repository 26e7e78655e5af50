import Foundation
import Services
import TestSupport
import Testing

/// `QdrantFilter` and the client's filtered calls against Qdrant's own semantics (qdrant-client's
/// local mode behind the REST paths): what each filter admits is what Qdrant admits.
@Suite(.enabled(if: LocalQdrant.available)) struct QdrantFilterTests {
    func seeded() async throws -> (QdrantClient, LocalQdrant) {
        let qdrant = try await LocalQdrant()
        let client = QdrantClient(baseURL: qdrant.url, apiKey: qdrant.apiKey, collection: "kb", http: HTTPClient(connections: 2))
        try await client.ensureCollection(vectorSize: 2)
        let rows: [(String, String?, Bool)] = [
            ("shared", nil, false), ("l1", "L1", false), ("l1-code", "L1", true), ("l2-code", "L2", true),
        ]
        try await client.upsert(
            rows.map { name, listing, restricted in
                var payload: [String: JSONValue] = ["name": .string(name), "restricted": .bool(restricted)]
                if let listing { payload["listing_id"] = .string(listing) }
                return .init(id: QdrantClient.pointID(for: name), vector: [1, 0], payload: payload)
            })
        return (client, qdrant)
    }

    func names(_ client: QdrantClient, _ filter: QdrantFilter) async throws -> [String] {
        try await client.query([1, 0], limit: 10, filter: filter).compactMap { $0.payload?["name"]?.string }.sorted()
    }

    @Test func nestedShouldIsEmptyAndMustNotMeanWhatQdrantMeans() async throws {
        let (client, qdrant) = try await seeded()
        defer { withExtendedLifetime(qdrant) {} }
        let ownListing = QdrantFilter.Condition.nested(
            QdrantFilter(should: [.isEmpty("listing_id"), .equals("listing_id", .string("L1"))]))
        #expect(try await names(client, QdrantFilter(must: [ownListing])) == ["l1", "l1-code", "shared"])
        #expect(
            try await names(client, QdrantFilter(must: [ownListing], mustNot: [.equals("restricted", .bool(true))])) == ["l1", "shared"])
        #expect(try await names(client, QdrantFilter(must: [.isEmpty("listing_id")])) == ["shared"])
        #expect(try await names(client, QdrantFilter(must: [.any("name", [])])) == [], "an empty list matches nothing")
        #expect(try await names(client, QdrantFilter()) == ["l1", "l1-code", "l2-code", "shared"])
    }

    @Test func payloadSetDeleteAndPagedListingByFilter() async throws {
        let (client, qdrant) = try await seeded()
        try await client.setPayload(["restricted": .bool(false)], where: QdrantFilter(must: [.equals("listing_id", .string("L2"))]))
        #expect(try await names(client, QdrantFilter(mustNot: [.equals("restricted", .bool(true))])) == ["l1", "l2-code", "shared"])
        let all = try await client.points(QdrantFilter(), page: 1)
        #expect(all.count == 4, "read a page of one at a time to the end")
        #expect(try await client.points(QdrantFilter(), limit: 3, page: 2).count == 3)
        try await client.delete(QdrantFilter(must: [.equals("listing_id", .string("L1"))]))
        #expect(try await names(client, QdrantFilter()) == ["l2-code", "shared"])
        let missing = QdrantClient(baseURL: qdrant.url, apiKey: qdrant.apiKey, collection: "none", http: HTTPClient(connections: 1))
        try await missing.delete(QdrantFilter(must: [.equals("name", .string("x"))]))
        #expect(try await missing.points(QdrantFilter()).isEmpty, "a collection that does not exist holds nothing")
        let sent = try await qdrant.requests()
        #expect(sent.contains { ($0["path"] as? String) == "/collections/kb/points/delete" })
    }
}
