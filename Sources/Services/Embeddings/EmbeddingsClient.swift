import Foundation

/// OpenAI-compatible embeddings (`POST /v1/embeddings`, docs/contracts.md §9). Vectors come back in the
/// order of the inputs whatever order the service lists them in; both encodings are read (`float`
/// arrays, and `base64` little-endian float32, which recent OpenAI clients ask for by default).
public struct EmbeddingsClient: Sendable {
    public let baseURL: String
    public let model: String
    private let apiKey: String?
    private let http: HTTPClient
    private let encoding: Encoding
    private let timeout: Duration

    public enum Encoding: String, Sendable { case float, base64 }

    public init(
        baseURL: String, apiKey: String?, model: String, http: HTTPClient, encoding: Encoding = .float, timeout: Duration = .seconds(30)
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.model = model
        self.http = http
        self.encoding = encoding
        self.timeout = timeout
    }

    public func embed(_ inputs: [String]) async throws -> [[Float]] {
        guard !inputs.isEmpty else { return [] }
        struct Body: Encodable { var model: String; var input: [String]; var encoding_format: String }
        struct Answer: Decodable {
            struct Item: Decodable { var index: Int; var embedding: Vector }
            var data: [Item]
        }
        var headers = [("Content-Type", "application/json")]
        if let apiKey, !apiKey.isEmpty { headers.append(("Authorization", "Bearer \(apiKey)")) }
        let request = HTTPClient.Request(
            "POST", baseURL + "/embeddings", headers: headers,
            body: try ServiceJSON.body(Body(model: model, input: inputs, encoding_format: encoding.rawValue)),
            timeout: timeout, maxResponseBytes: 64 << 20, service: .embeddings)
        let response = try await http.sendChecked(request)
        let answer = try ServiceJSON.decode(Answer.self, from: response, request: Transfer.describe(request))
        var vectors = [[Float]?](repeating: nil, count: inputs.count)
        for item in answer.data where vectors.indices.contains(item.index) { vectors[item.index] = item.embedding.values }
        guard vectors.allSatisfy({ $0 != nil }), Set(vectors.map { $0!.count }).count == 1 else {
            throw HTTPFailure(
                kind: .unexpectedAnswer, request: Transfer.describe(request),
                detail: "expected \(inputs.count) vectors of one size, got \(answer.data.count)")
        }
        return vectors.map { $0! }
    }

    /// A vector as either encoding.
    struct Vector: Decodable {
        var values: [Float]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let floats = try? container.decode([Float].self) {
                values = floats
                return
            }
            let text = try container.decode(String.self)
            guard let data = Data(base64Encoded: text), data.count % 4 == 0 else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "embedding is neither floats nor base64 float32")
            }
            values = data.withUnsafeBytes { raw in
                (0..<raw.count / 4).map { index -> Float in
                    let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
                    return Float(bitPattern: bits)
                }
            }
        }
    }
}
