import Foundation

/// JSON in and out of service clients: encode a request body, decode a 2xx answer, and turn an
/// answer that does not decode into a permanent failure naming the service and what was wrong
/// (retrying cannot fix a contract mismatch).
enum ServiceJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static let decoder = JSONDecoder()

    static func body<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, from response: HTTPClient.Response, request: String) throws -> T {
        do {
            return try decoder.decode(T.self, from: Data(response.body))
        } catch {
            throw HTTPFailure(
                kind: .unexpectedAnswer, request: request,
                detail: "\(error): \(String(response.text.prefix(200)))")
        }
    }
}
