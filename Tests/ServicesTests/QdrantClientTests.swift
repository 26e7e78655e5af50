import Foundation
import HTTPTypes
import Hummingbird
import TestSupport
import Testing

@testable import Services

@Suite struct QdrantClientTests {
    @Test func indexingTheSameSourceTwiceOverwritesAndQueriesFilterAndThreshold() async throws {
        let (qdrant, fake) = try await FakeQdrant.create(apiKey: "qd-key")
        let client = QdrantClient(baseURL: fake.url, apiKey: "qd-key", collection: "knowledge", http: HTTPClient())
        #expect(try await client.ensureCollection(vectorSize: 3) == true)
        #expect(try await client.ensureCollection(vectorSize: 3) == false, "already there")
        func points() -> [QdrantClient.Point] {
            [
                .init(
                    id: QdrantClient.pointID(for: "call:812:chunk:0"), vector: [1, 0, 0],
                    payload: ["account_id": .integer(1), "text": .string("pool heated")]),
                .init(
                    id: QdrantClient.pointID(for: "call:812:chunk:1"), vector: [0, 1, 0],
                    payload: ["account_id": .integer(1), "text": .string("late checkout")]),
                .init(
                    id: QdrantClient.pointID(for: "booking:R1"), vector: [0.9, 0.1, 0],
                    payload: ["account_id": .integer(2), "text": .string("other account")]),
            ]
        }
        try await client.upsert(points(), batchSize: 2)
        try await client.upsert(points(), batchSize: 2)
        #expect(qdrant.state.value["knowledge"]?.points.count == 3, "a re-run overwrites")
        #expect(fake.requests.filter { $0.method == "PUT" && $0.path.hasSuffix("/points") }.count == 4, "batches of two")
        let hits = try await client.query([1, 0.05, 0], limit: 5, must: ["account_id": .integer(1)], scoreThreshold: 0.5)
        #expect(hits.map { $0.payload?["text"]?.string } == ["pool heated"], "the other account's point and the far one are left out")
    }

    @Test func scrollingPagesThroughWhatAFilterAdmitsWithTheFieldsAskedAndDeletingTakesThemOut() async throws {
        let (qdrant, fake) = try await FakeQdrant.create(apiKey: "k")
        let client = QdrantClient(baseURL: fake.url, apiKey: "k", collection: "knowledge", http: HTTPClient())
        var seen: [[String: JSONValue]] = []
        try await client.scroll(QdrantFilter()) { seen += $0.compactMap(\.payload) }
        #expect(seen.isEmpty, "no collection holds nothing")
        try await client.ensureCollection(vectorSize: 2)
        try await client.upsert(
            (0..<7).map { index in
                .init(
                    id: QdrantClient.pointID(for: "p\(index)"), vector: [1, 0],
                    payload: [
                        "guest_keys": .array([.string(index < 5 ? "phone:1" : "phone:2")]), "call_id": .integer(index),
                        "text": .string("secret \(index)"),
                    ])
            })
        var pages = 0
        try await client.scroll(QdrantFilter(must: [.any("guest_keys", ["phone:1"])]), fields: ["call_id"], page: 2) { page in
            pages += 1
            seen += page.compactMap(\.payload)
        }
        #expect(pages == 3 && Set(seen.compactMap { $0["call_id"]?.integer }) == [0, 1, 2, 3, 4], "\(seen)")
        #expect(seen.allSatisfy { $0["text"] == nil }, "only the fields asked for")
        try await client.delete(QdrantFilter(must: [.any("guest_keys", ["phone:1"])]))
        #expect(qdrant.state.value["knowledge"]?.points.count == 2)
        try await client.delete(ids: [.string(QdrantClient.pointID(for: "p5"))])
        #expect(qdrant.state.value["knowledge"]?.points.count == 1)
    }

    @Test func aCollectionOfAnotherSizeIsAPermanentError() async throws {
        let (_, fake) = try await FakeQdrant.create(apiKey: "k")
        let client = QdrantClient(baseURL: fake.url, apiKey: "k", collection: "knowledge", http: HTTPClient())
        try await client.ensureCollection(vectorSize: 384)
        await #expect { try await client.ensureCollection(vectorSize: 1536) } throws: { error in
            (error as? HTTPFailure)?.isRetryable == false && "\(error)".contains("384") && "\(error)".contains("1536")
        }
        let unauthorized = QdrantClient(baseURL: fake.url, apiKey: nil, collection: "knowledge", http: HTTPClient())
        await #expect { try await unauthorized.ensureCollection(vectorSize: 384) } throws: { ($0 as? HTTPFailure)?.status == 401 }
    }

    @Test func pointIDsAreStableUUIDs() {
        let id = QdrantClient.pointID(for: "call:812:chunk:0")
        #expect(id == QdrantClient.pointID(for: "call:812:chunk:0") && id != QdrantClient.pointID(for: "call:812:chunk:1"))
        #expect(UUID(uuidString: id) != nil && Array(id)[14] == "8", "an RFC 9562 version-8 UUID")
    }
}
