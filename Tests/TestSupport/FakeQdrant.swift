import Foundation
import Hummingbird

/// A small Qdrant: collections with a vector size, points by id (an upsert overwrites), a query
/// that filters on payload equality (`must`, `must_not`, `should`) and scores by cosine
/// similarity, a scroll through what a filter admits (paged by id, payload fields selectable), and
/// deletion by filter or ids.
/// It answers 400 for an id that is neither an unsigned integer nor a UUID, and 401 without the
/// api-key.
public final class FakeQdrant: Sendable {
    public struct Collection: Sendable {
        public var size: Int
        /// Point id → vector and payload (as JSON text).
        public var points: [String: (vector: [Float], payload: String)]
    }

    public let state = LockedValue<[String: Collection]>([:])

    public static func create(apiKey: String, delay: Duration = .zero, host: String = "127.0.0.1", port: Int = 0) async throws -> (
        FakeQdrant, FakeService
    ) {
        let qdrant = FakeQdrant()
        let service = try await FakeService(delay: delay, host: host, port: port) { received in
            await qdrant.handle(received, apiKey: apiKey)
        }
        return (qdrant, service)
    }

    /// Puts a point in `collection` (made with the vector's size if missing), as an upsert would.
    public func seed(_ collection: String, id: String, vector: [Float], payload: String) {
        state.withLock { collections in
            if collections[collection] == nil { collections[collection] = Collection(size: vector.count, points: [:]) }
            collections[collection]?.points[id] = (vector, payload)
        }
    }

    func handle(_ received: FakeService.Received, apiKey: String) async -> Response {
        guard received.headers["api-key"] == apiKey else { return FakeService.answer(.unauthorized, "Must provide an API key") }
        let parts = received.path.split(separator: "/").map(String.init)
        guard parts.count >= 2, parts[0] == "collections" else { return FakeService.answer(.notFound) }
        let name = parts[1]
        let body = jsonFields(received.body)
        switch (received.method, parts.count) {
        case ("GET", 2):
            guard let collection = state.value[name] else {
                return FakeService.answer(
                    .notFound, #"{"status":{"error":"Not found: Collection `\#(name)` doesn't exist!"},"time":0.0001}"#)
            }
            return FakeService.answer(
                .ok,
                #"{"result":{"status":"green","config":{"params":{"vectors":{"size":\#(collection.size),"distance":"Cosine"}}}},"status":"ok","time":0.0001}"#
            )
        case ("PUT", 2):
            guard let vectors = body["vectors"] as? [String: Any], let size = vectors["size"] as? Int,
                vectors["distance"] as? String == "Cosine"
            else {
                return FakeService.answer(.badRequest, #"{"status":{"error":"bad collection config"}}"#)
            }
            // As Qdrant: creating a collection that exists is refused, never a reset of its points
            // (two replicas that both found it missing race to create it).
            let created = state.withLock { collections -> Bool in
                guard collections[name] == nil else { return false }
                collections[name] = Collection(size: size, points: [:])
                return true
            }
            guard created else {
                return FakeService.answer(
                    .conflict, #"{"status":{"error":"Wrong input: Collection `\#(name)` already exists!"},"time":0.0}"#)
            }
            return FakeService.answer(.ok, #"{"result":true,"status":"ok","time":0.01}"#)
        case ("PUT", 3) where parts[2] == "points":
            guard received.query.contains("wait=true") else { return FakeService.answer(.badRequest, "test expects wait=true") }
            for point in body["points"] as? [[String: Any]] ?? [] {
                guard let id = point["id"] as? String, UUID(uuidString: id) != nil else {
                    return FakeService.answer(
                        .badRequest, #"{"status":{"error":"Format error in JSON body: value is not a valid point ID"}}"#)
                }
                let vector = (point["vector"] as? [NSNumber] ?? []).map { $0.floatValue }
                guard vector.count == state.value[name]?.size else {
                    return FakeService.answer(.badRequest, #"{"status":{"error":"Wrong input: Vector dimension error"}}"#)
                }
                let payload = String(
                    decoding: (try? JSONSerialization.data(withJSONObject: point["payload"] ?? [:])) ?? Data("{}".utf8), as: UTF8.self)
                state.withLock { $0[name]?.points[id] = (vector, payload) }
            }
            return FakeService.answer(.ok, #"{"result":{"operation_id":1,"status":"completed"},"status":"ok","time":0.002}"#)
        case ("POST", 4) where parts[2] == "points" && parts[3] == "query":
            let query = (body["query"] as? [NSNumber] ?? []).map { $0.floatValue }
            let limit = body["limit"] as? Int ?? 10
            let threshold = body["score_threshold"] as? Double ?? -1
            let filter = body["filter"] as? [String: Any] ?? [:]
            func cosine(_ a: [Float], _ b: [Float]) -> Double {
                let dot = zip(a, b).map { Double($0 * $1) }.reduce(0, +)
                let norms = sqrt(a.map { Double($0 * $0) }.reduce(0, +)) * sqrt(b.map { Double($0 * $0) }.reduce(0, +))
                return norms == 0 ? 0 : dot / norms
            }
            let hits = (state.value[name]?.points ?? [:]).filter { _, point in
                FakeQdrant.passes(filter, jsonFields(Array(point.payload.utf8)))
            }.map { (id: $0.key, score: cosine($0.value.vector, query), payload: $0.value.payload) }
                .filter { $0.score >= threshold }.sorted { $0.score > $1.score }.prefix(limit)
            let points = hits.map { hit in #"{"id":"\#(hit.id)","version":1,"score":\#(hit.score),"payload":\#(hit.payload)}"# }
            return FakeService.answer(.ok, #"{"result":{"points":[\#(points.joined(separator: ","))]},"status":"ok","time":0.001}"#)
        case ("POST", 4) where parts[2] == "points" && parts[3] == "scroll":
            // Points the filter admits in id order, a page from `offset`, with all or the named payload fields.
            guard let collection = state.value[name] else {
                return FakeService.answer(.notFound, #"{"status":{"error":"Not found: Collection `\#(name)` doesn't exist!"}}"#)
            }
            let filter = body["filter"] as? [String: Any] ?? [:]
            let limit = body["limit"] as? Int ?? 10
            let offset = body["offset"] as? String
            let fields = body["with_payload"] as? [String]
            let admitted = collection.points.keys.sorted().filter { id in
                (offset.map { id >= $0 } ?? true) && FakeQdrant.passes(filter, jsonFields(Array(collection.points[id]!.payload.utf8)))
            }
            let page = admitted.prefix(limit).map { id -> String in
                var payload = jsonFields(Array(collection.points[id]!.payload.utf8))
                if let fields { payload = payload.filter { fields.contains($0.key) } }
                let text = String(decoding: (try? JSONSerialization.data(withJSONObject: payload)) ?? Data("{}".utf8), as: UTF8.self)
                return #"{"id":"\#(id)","payload":\#(text)}"#
            }
            let next = admitted.count > limit ? #""\#(admitted[limit])""# : "null"
            return FakeService.answer(
                .ok, #"{"result":{"points":[\#(page.joined(separator: ","))],"next_page_offset":\#(next)},"status":"ok","time":0.001}"#)
        case ("POST", 4) where parts[2] == "points" && parts[3] == "delete":
            guard state.value[name] != nil else { return FakeService.answer(.notFound, #"{"status":{"error":"Not found"}}"#) }
            let filter = body["filter"] as? [String: Any]
            let ids = Set((body["points"] as? [Any] ?? []).map { "\($0)" })
            state.withLock { collections in
                let kept = (collections[name]?.points ?? [:]).filter { id, point in
                    if let filter { return !FakeQdrant.passes(filter, jsonFields(Array(point.payload.utf8))) }
                    return !ids.contains(id)
                }
                collections[name]?.points = kept
            }
            return FakeService.answer(.ok, #"{"result":{"operation_id":2,"status":"completed"},"status":"ok","time":0.001}"#)
        default:
            return FakeService.answer(.notFound)
        }
    }

    /// Qdrant's filter: `must` all, `must_not` none, `should` at least one (when given); a
    /// condition is a key with `match.value` (equality; an array field matches when any element
    /// does) or `match.any`, or a nested filter.
    static func passes(_ filter: [String: Any], _ payload: [String: Any]) -> Bool {
        func matches(_ condition: [String: Any]) -> Bool {
            guard let key = condition["key"] as? String else { return passes(condition, payload) }
            let match = condition["match"] as? [String: Any] ?? [:]
            let values = (payload[key] as? [Any]).map { $0.map { "\($0)" } } ?? payload[key].map { ["\($0)"] } ?? []
            if let any = match["any"] as? [Any] { return any.contains { wanted in values.contains("\(wanted)") } }
            return values.contains("\(match["value"] ?? "∅∅")")
        }
        let must = filter["must"] as? [[String: Any]] ?? []
        let mustNot = filter["must_not"] as? [[String: Any]] ?? []
        let should = filter["should"] as? [[String: Any]]
        return must.allSatisfy(matches) && !mustNot.contains(where: matches) && (should.map { $0.contains(where: matches) } ?? true)
    }
}
