import Foundation
import Queue
import Services

/// What one webhook delivery asks for, once verified and parsed: start a flow with this job
/// (deduplicated on `dedupe` when set), or nothing — acknowledged and ignored, with the reason.
/// `first` are jobs of their own the delivery also starts, each deduplicated on its own key (a
/// conversation's triage, started by whichever of its events comes first); the answer is the main
/// job's, so a sender's retry brings them again and their keys keep them once.
public enum Delivery: Sendable, Equatable {
    case start(JobRequest, dedupe: String?, first: [Side] = [])
    case ignore(reason: String)

    public struct Side: Sendable, Equatable {
        public var job: JobRequest
        public var dedupe: String

        public init(_ job: JobRequest, dedupe: String) {
            self.job = job
            self.dedupe = dedupe
        }
    }
}

/// Why a body was refused as malformed: the sender gets 400 with this message and field.
public struct MalformedBody: Error, Equatable, CustomStringConvertible {
    public let message: String
    /// The JSON path of the offending field (`data.id`), when one is to blame.
    public let field: String?

    public static func missing(_ field: String) -> MalformedBody {
        MalformedBody(message: "missing field '\(field)'", field: field)
    }

    public static func invalid(_ field: String, _ expected: String) -> MalformedBody {
        MalformedBody(message: "field '\(field)' must be \(expected)", field: field)
    }

    public static let notJSON = MalformedBody(message: "body is not a JSON object", field: nil)

    public var description: String { message }
}

/// Reading webhook JSON: a decoding failure becomes a `MalformedBody` naming the field.
enum WebhookJSON {
    static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8]) throws(MalformedBody) -> T {
        do {
            return try decoder.decode(T.self, borrowing: body)
        } catch let error as DecodingError {
            switch error {
            case .typeMismatch(let expected, let context) where !context.codingPath.isEmpty:
                throw .invalid(path(context.codingPath), "\(expected)".lowercased())
            case .valueNotFound(_, let context) where !context.codingPath.isEmpty:
                throw .missing(path(context.codingPath))
            case .keyNotFound(let key, let context):
                throw .missing(path(context.codingPath + [key]))
            default:
                throw .notJSON
            }
        } catch {
            throw .notJSON
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    static let decoder = JSONDecoder()
}

extension Optional {
    /// The value, or a 400 naming `field` as missing.
    func required(_ field: String) throws(MalformedBody) -> Wrapped {
        guard let self else { throw .missing(field) }
        return self
    }
}

extension String {
    /// The URL itself when it is an http or https one (what the stages will fetch), or a 400
    /// naming `field`: no other scheme is ever taken in.
    func webURL(_ field: String) throws(MalformedBody) -> String {
        guard HTTPClient.isWebURL(self) else { throw .invalid(field, "an http or https URL") }
        return self
    }
}

extension Optional where Wrapped == Int {
    /// An identifier: present and positive, or a 400 naming `field`.
    func positive(_ field: String) throws(MalformedBody) -> Int {
        let value = try required(field)
        guard value > 0 else { throw .invalid(field, "a positive integer") }
        return value
    }
}
