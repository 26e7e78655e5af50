import Foundation
import HTTPTypes
import Hummingbird
@testable import Services
import Testing
import TestSupport

/// A small Qdrant: collections with a vector size, points by id (an upsert overwrites), and a
/// query that filters on payload equality and scores by cosine similarity. It answers 400 for an
/// id that is neither an unsigned integer nor a UUID, and 401 without the api-key.
final class FakeQdrant: Sendable {
    struct Collection: Sendable {
        var size: Int
        /// Point id → vector and payload (as JSON text).
        var points: [String: (vector: [Float], payload: String)]
    }

    let state = LockedValue<[String: Collection]>([:])

    static func create(apiKey: String) async throws -> (FakeQdrant, FakeService) {
        let qdrant = FakeQdrant()
        let service = try await FakeService { received in await qdrant.handle(received, apiKey: apiKey) }
        return (qdrant, service)
    }

    func handle(_ received: FakeService.Received, apiKey: String) async -> Response {
        guard received.headers["api-key"] == apiKey else { return FakeService.answer(.unauthorized, "Must provide an API key") }
        let parts = received.path.split(separator: "/").map(String.init)
        guard parts.count >= 2, parts[0] == "collections" else { return FakeService.answer(.notFound) }
        let name = parts[1]
        let body = jsonObject(received.body)
        switch (received.method, parts.count) {
        case ("GET", 2):
            guard let collection = state.value[name] else {
                return FakeService.answer(.notFound, #"{"status":{"error":"Not found: Collection `\#(name)` doesn't exist!"},"time":0.0001}"#)
            }
            return FakeService.answer(.ok, #"{"result":{"status":"green","config":{"params":{"vectors":{"size":\#(collection.size),"distance":"Cosine"}}}},"status":"ok","time":0.0001}"#)
        case ("PUT", 2):
            guard let vectors = body["vectors"] as? [String: Any], let size = vectors["size"] as? Int, vectors["distance"] as? String == "Cosine" else {
                return FakeService.answer(.badRequest, #"{"status":{"error":"bad collection config"}}"#)
            }
            state.withLock { $0[name] = Collection(size: size, points: [:]) }
            return FakeService.answer(.ok, #"{"result":true,"status":"ok","time":0.01}"#)
        case ("PUT", 3) where parts[2] == "points":
            guard received.query.contains("wait=true") else { return FakeService.answer(.badRequest, "test expects wait=true") }
            for point in body["points"] as? [[String: Any]] ?? [] {
                guard let id = point["id"] as? String, UUID(uuidString: id) != nil else {
                    return FakeService.answer(.badRequest, #"{"status":{"error":"Format error in JSON body: value is not a valid point ID"}}"#)
                }
                let vector = (point["vector"] as? [NSNumber] ?? []).map { $0.floatValue }
                guard vector.count == state.value[name]?.size else {
                    return FakeService.answer(.badRequest, #"{"status":{"error":"Wrong input: Vector dimension error"}}"#)
                }
                let payload = String(decoding: (try? JSONSerialization.data(withJSONObject: point["payload"] ?? [:])) ?? Data("{}".utf8), as: UTF8.self)
                state.withLock { $0[name]?.points[id] = (vector, payload) }
            }
            return FakeService.answer(.ok, #"{"result":{"operation_id":1,"status":"completed"},"status":"ok","time":0.002}"#)
        case ("POST", 4) where parts[2] == "points" && parts[3] == "query":
            let query = (body["query"] as? [NSNumber] ?? []).map { $0.floatValue }
            let limit = body["limit"] as? Int ?? 10
            let threshold = body["score_threshold"] as? Double ?? -1
            let must = ((body["filter"] as? [String: Any])?["must"] as? [[String: Any]]) ?? []
            func cosine(_ a: [Float], _ b: [Float]) -> Double {
                let dot = zip(a, b).map { Double($0 * $1) }.reduce(0, +)
                let norms = sqrt(a.map { Double($0 * $0) }.reduce(0, +)) * sqrt(b.map { Double($0 * $0) }.reduce(0, +))
                return norms == 0 ? 0 : dot / norms
            }
            let hits = (state.value[name]?.points ?? [:]).filter { _, point in
                let payload = jsonObject(Array(point.payload.utf8))
                return must.allSatisfy { condition in
                    let key = condition["key"] as? String ?? ""
                    let wanted = (condition["match"] as? [String: Any])?["value"]
                    return "\(payload[key] ?? "∅")" == "\(wanted ?? "∅∅")"
                }
            }.map { (id: $0.key, score: cosine($0.value.vector, query), payload: $0.value.payload) }
                .filter { $0.score >= threshold }.sorted { $0.score > $1.score }.prefix(limit)
            let points = hits.map { hit in #"{"id":"\#(hit.id)","version":1,"score":\#(hit.score),"payload":\#(hit.payload)}"# }
            return FakeService.answer(.ok, #"{"result":{"points":[\#(points.joined(separator: ","))]},"status":"ok","time":0.001}"#)
        default:
            return FakeService.answer(.notFound)
        }
    }
}

@Suite struct QdrantClientTests {
    @Test func indexingTheSameSourceTwiceOverwritesAndQueriesFilterAndThreshold() async throws {
        let (qdrant, fake) = try await FakeQdrant.create(apiKey: "qd-key")
        let client = QdrantClient(baseURL: fake.url, apiKey: "qd-key", collection: "knowledge", http: HTTPClient())
        #expect(try await client.ensureCollection(vectorSize: 3) == true)
        #expect(try await client.ensureCollection(vectorSize: 3) == false, "already there")
        func points() -> [QdrantClient.Point] {
            [
                .init(id: QdrantClient.pointID(for: "call:812:chunk:0"), vector: [1, 0, 0], payload: ["account_id": .integer(1), "text": .string("pool heated")]),
                .init(id: QdrantClient.pointID(for: "call:812:chunk:1"), vector: [0, 1, 0], payload: ["account_id": .integer(1), "text": .string("late checkout")]),
                .init(id: QdrantClient.pointID(for: "booking:R1"), vector: [0.9, 0.1, 0], payload: ["account_id": .integer(2), "text": .string("other account")]),
            ]
        }
        try await client.upsert(points(), batchSize: 2)
        try await client.upsert(points(), batchSize: 2)
        #expect(qdrant.state.value["knowledge"]?.points.count == 3, "a re-run overwrites")
        #expect(fake.requests.filter { $0.method == "PUT" && $0.path.hasSuffix("/points") }.count == 4, "batches of two")
        let hits = try await client.query([1, 0.05, 0], limit: 5, must: ["account_id": .integer(1)], scoreThreshold: 0.5)
        #expect(hits.map { $0.payload?["text"]?.string } == ["pool heated"], "the other account's point and the far one are left out")
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
