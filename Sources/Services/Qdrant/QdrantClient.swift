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
        struct Condition: Encodable {
            struct Match: Encodable {
                var value: JSONValue?
                var any: [String]?
            }
            var key: String?
            var match: Match?
            /// A nested filter in place of a key and match.
            var must_not: [Condition]?
        }
        struct Filter: Encodable {
            var must: [Condition]?
            var must_not: [Condition]?
            var should: [Condition]?
        }
        struct Body: Encodable {
            var query: [Float]
            var limit: Int
            var with_payload = true
            var filter: Filter?
            var score_threshold: Double?
        }
        struct Answer: Decodable {
            struct Result: Decodable { var points: [ScoredPoint] }
            var result: Result
        }
        func conditions(_ pairs: [String: JSONValue]) -> [Condition]? {
            pairs.isEmpty ? nil : pairs.sorted { $0.key < $1.key }.map { Condition(key: $0.key, match: .init(value: $0.value)) }
        }
        let should = guestKeys.map { keys in
            [
                Condition(must_not: [Condition(key: "private", match: .init(value: .bool(true)))]),
                Condition(key: "guest_keys", match: .init(any: keys.isEmpty ? ["none"] : keys)),
            ]
        }
        let filter =
            must.isEmpty && mustNot.isEmpty && should == nil
            ? nil : Filter(must: conditions(must), must_not: conditions(mustNot), should: should)
        let body = Body(query: vector, limit: limit, filter: filter, score_threshold: scoreThreshold)
        let request = try request("POST", "/collections/\(collection)/points/query", json: body)
        let response = try await http.sendChecked(request)
        return try ServiceJSON.decode(Answer.self, from: response, request: Transfer.describe(request)).result.points
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
