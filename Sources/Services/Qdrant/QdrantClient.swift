import Crypto
import Foundation

/// Qdrant's REST API for one collection (docs/contracts.md §6): make sure it exists with the embeddings'
/// size, upsert points in batches and wait until each batch is applied, and query by vector with
/// payload filters and a score threshold.
///
/// Point ids are UUIDs derived from the source (`pointID(for:)`), so indexing the same call or
/// booking again overwrites its points instead of adding duplicates.
public struct QdrantClient: Sendable {
    public let baseURL: String
    public let collection: String
    private let apiKey: String?
    private let http: HTTPClient
    private let timeout: Duration

    public init(baseURL: String, apiKey: String?, collection: String, http: HTTPClient, timeout: Duration = .seconds(30)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.collection = collection
        self.http = http
        self.timeout = timeout
    }

    public struct Point: Sendable, Encodable {
        public var id: String
        public var vector: [Float]
        public var payload: [String: JSONValue]

        public init(id: String, vector: [Float], payload: [String: JSONValue]) {
            self.id = id
            self.vector = vector
            self.payload = payload
        }
    }

    public struct ScoredPoint: Sendable, Decodable {
        public var id: JSONValue
        public var score: Double
        public var payload: [String: JSONValue]?
    }

    /// A UUID (RFC 9562 version 8, from SHA-256) that is the same for the same `source` everywhere.
    public static func pointID(for source: String) -> String {
        var bytes = Array(SHA256.hash(data: Array(source.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x80
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = Hex.encode(bytes)
        let parts = [
            hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20),
        ]
        return parts.joined(separator: "-")
    }

    /// Creates the collection (cosine distance) unless it exists; an existing one whose vector size
    /// differs from the embeddings' is a permanent error naming both sizes. Returns whether it was created.
    @discardableResult
    public func ensureCollection(vectorSize: Int) async throws -> Bool {
        let path = "/collections/\(collection)"
        let lookup = request("GET", path)
        let existing = try await http.send(lookup)
        if existing.status == 200 {
            struct Info: Decodable {
                struct Result: Decodable {
                    struct Config: Decodable {
                        struct Params: Decodable {
                            struct Vectors: Decodable { var size: Int? }
                            var vectors: Vectors?
                        }
                        var params: Params?
                    }
                    var config: Config?
                }
                var result: Result?
            }
            let info = try ServiceJSON.decode(Info.self, from: existing, request: Transfer.describe(lookup))
            if let size = info.result?.config?.params?.vectors?.size, size != vectorSize {
                throw HTTPFailure(
                    kind: .unexpectedAnswer, request: Transfer.describe(lookup),
                    detail: "collection \(collection) holds vectors of size \(size), but the embeddings have \(vectorSize)")
            }
            return false
        }
        guard existing.status == 404 else { throw HTTPFailure.from(existing, request: Transfer.describe(lookup)) }
        struct Create: Encodable {
            struct Vectors: Encodable { var size: Int; var distance = "Cosine" }
            var vectors: Vectors
        }
        let create = try request("PUT", path, json: Create(vectors: .init(size: vectorSize)))
        let created = try await http.send(create)
        // 409: another replica created it a moment ago.
        guard (200..<300).contains(created.status) || created.status == 409 else {
            throw HTTPFailure.from(created, request: Transfer.describe(create))
        }
        return created.status != 409
    }

    /// Upserts points `batchSize` at a time, each batch applied (`wait=true`) before the next.
    public func upsert(_ points: [Point], batchSize: Int = 64) async throws {
        struct Body: Encodable { var points: [Point] }
        for start in stride(from: 0, to: points.count, by: max(1, batchSize)) {
            let batch = points[start..<min(start + batchSize, points.count)]
            _ = try await http.sendChecked(
                try request("PUT", "/collections/\(collection)/points?wait=true", json: Body(points: Array(batch))))
        }
    }

    /// The `limit` nearest points to `vector` whose payload matches every `must` pair and none of
    /// the `mustNot` pairs, scoring at least `scoreThreshold`.
    /// `sharedOr`, when given, admits besides the points that are not `private` those whose
    /// `guest_keys` hold any of these keys (a `should` of the two): one guest's own knowledge.
    public func query(
        _ vector: [Float], limit: Int, must: [String: JSONValue] = [:], mustNot: [String: JSONValue] = [:],
        sharedOr guestKeys: [String]? = nil, scoreThreshold: Double? = nil
    ) async throws -> [ScoredPoint] {
        func conditions(_ pairs: [String: JSONValue]) -> [QdrantFilter.Condition] {
            pairs.sorted { $0.key < $1.key }.map { .equals($0.key, $0.value) }
        }
        let should: [QdrantFilter.Condition] =
            guestKeys.map { keys in
                [.nested(QdrantFilter(mustNot: [.equals("private", .bool(true))])), .any("guest_keys", keys)]
            } ?? []
        let filter = QdrantFilter(must: conditions(must), mustNot: conditions(mustNot), should: should)
        return try await query(vector, limit: limit, filter: filter, scoreThreshold: scoreThreshold)
    }

    /// The `limit` nearest points to `vector` that `filter` admits, scoring at least `scoreThreshold`.
    public func query(_ vector: [Float], limit: Int, filter: QdrantFilter, scoreThreshold: Double? = nil) async throws -> [ScoredPoint] {
        struct Body: Encodable {
            var query: [Float]
            var limit: Int
            var with_payload = true
            var filter: QdrantFilter?
            var score_threshold: Double?
        }
        struct Answer: Decodable {
            struct Result: Decodable { var points: [ScoredPoint] }
            var result: Result
        }
        let body = Body(query: vector, limit: limit, filter: filter.isEmpty ? nil : filter, score_threshold: scoreThreshold)
        let request = try request("POST", "/collections/\(collection)/points/query", json: body)
        let response = try await http.sendChecked(request)
        return try ServiceJSON.decode(Answer.self, from: response, request: Transfer.describe(request)).result.points
    }

    /// Deletes every point `filter` admits, applied before the call returns (`wait=true`). A
    /// collection that does not exist holds nothing to delete.
    public func delete(_ filter: QdrantFilter) async throws {
        struct Body: Encodable { var filter: QdrantFilter }
        let request = try request("POST", "/collections/\(collection)/points/delete?wait=true", json: Body(filter: filter))
        let response = try await http.send(request)
        guard response.status != 404 else { return }
        guard (200..<300).contains(response.status) else { throw HTTPFailure.from(response, request: Transfer.describe(request)) }
    }

    /// Sets `payload`'s fields (others kept) on every point `filter` admits, applied before the call returns.
    public func setPayload(_ payload: [String: JSONValue], where filter: QdrantFilter) async throws {
        struct Body: Encodable {
            var payload: [String: JSONValue]
            var filter: QdrantFilter
        }
        let request = try request(
            "POST", "/collections/\(collection)/points/payload?wait=true", json: Body(payload: payload, filter: filter))
        _ = try await http.sendChecked(request)
    }

    /// A point as a listing returns it: id and payload.
    public struct Record: Sendable, Decodable {
        public var id: JSONValue
        public var payload: [String: JSONValue]?
    }

    /// Every point `filter` admits, read `page` at a time (Qdrant's scroll), at most `limit` in all.
    /// A collection that does not exist holds none.
    public func points(_ filter: QdrantFilter, limit: Int = 10_000, page: Int = 256) async throws -> [Record] {
        var found: [Record] = []
        try await scroll(filter, page: page, limit: limit) { found += $0 }
        return found
    }

    /// Hands every point `filter` admits to `body`, one page at a time (at most `limit` in all),
    /// with only the payload `fields` named (all when nil): a million points never sit in memory.
    /// A collection that does not exist holds none.
    public func scroll(
        _ filter: QdrantFilter, fields: [String]? = nil, page: Int = 256, limit: Int = .max, _ body: ([Record]) async throws -> Void
    ) async throws {
        struct Body: Encodable {
            var filter: QdrantFilter?
            var limit: Int
            var offset: JSONValue?
            var with_payload: JSONValue
        }
        struct Answer: Decodable {
            struct Result: Decodable {
                var points: [Record]
                var next_page_offset: JSONValue?
            }
            var result: Result
        }
        let selection: JSONValue = fields.map { .array($0.map(JSONValue.string)) } ?? .bool(true)
        var seen = 0
        var offset: JSONValue?
        repeat {
            let query = Body(filter: filter.isEmpty ? nil : filter, limit: min(page, limit - seen), offset: offset, with_payload: selection)
            let request = try request("POST", "/collections/\(collection)/points/scroll", json: query)
            let response = try await http.send(request)
            if response.status == 404 { return }
            guard (200..<300).contains(response.status) else { throw HTTPFailure.from(response, request: Transfer.describe(request)) }
            let answer = try ServiceJSON.decode(Answer.self, from: response, request: Transfer.describe(request)).result
            seen += answer.points.count
            offset = answer.next_page_offset == .null ? nil : answer.next_page_offset
            // A page that brings nothing new cannot make progress, whatever offset it names.
            if answer.points.isEmpty { break }
            try await body(answer.points)
        } while offset != nil && seen < limit
    }

    /// Deletes the points with these ids, applied before the call returns; ids no point has are no error.
    public func delete(ids: [JSONValue]) async throws {
        struct Body: Encodable { var points: [JSONValue] }
        for start in stride(from: 0, to: ids.count, by: 1000) {
            let batch = Array(ids[start..<min(start + 1000, ids.count)])
            let request = try request("POST", "/collections/\(collection)/points/delete?wait=true", json: Body(points: batch))
            let response = try await http.send(request)
            guard response.status != 404 else { return }
            guard (200..<300).contains(response.status) else { throw HTTPFailure.from(response, request: Transfer.describe(request)) }
        }
    }

    // MARK: Plumbing

    private func headers(json: Bool) -> [(String, String)] {
        var headers: [(String, String)] = json ? [("Content-Type", "application/json")] : []
        if let apiKey, !apiKey.isEmpty { headers.append(("api-key", apiKey)) }
        return headers
    }

    private func request(_ method: String, _ path: String) -> HTTPClient.Request {
        HTTPClient.Request(method, baseURL + path, headers: headers(json: false), timeout: timeout, service: .qdrant)
    }

    private func request<Body: Encodable>(_ method: String, _ path: String, json: Body) throws -> HTTPClient.Request {
        HTTPClient.Request(
            method, baseURL + path, headers: headers(json: true), body: try ServiceJSON.body(json), timeout: timeout, service: .qdrant)
    }
}
