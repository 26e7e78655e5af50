import Foundation
import Hummingbird
import NIOCore

/// Why a body was not read: too large for its route, of a type the route does not take, or not
/// readable to its end (the client went away mid-body, broke the chunked framing, or took longer
/// than the read timeout, after which the connection is closed under the handler).
enum BodyRefusal: Error {
    case tooLarge(limit: Int)
    case unsupportedType(expected: String)
    case unreadable(reason: String)

    var response: Response {
        switch self {
        case .tooLarge(let limit):
            // The rest of the body is never read; the connection is closed rather than drained.
            APIResponse.error(.contentTooLarge, "body is over the limit of \(limit) bytes", headers: [.connection: "close"])
        case .unsupportedType(let expected):
            APIResponse.error(.unsupportedMediaType, "expected Content-Type \(expected)")
        case .unreadable:
            APIResponse.error(.badRequest, "the request body could not be read to its end")
        }
    }
}

/// Reading request bodies within a limit: a declared `Content-Length` over it is refused before a
/// byte is read, a streamed body as soon as it passes it. Signatures are checked against exactly
/// these bytes, never a re-serialised body.
enum RequestBody {
    /// The media type without parameters, lowercased (`application/json` of `application/json; charset=utf-8`).
    static func mediaType(_ request: Request) -> String? {
        guard let value = request.headers[.contentType] else { return nil }
        var type = Substring(value)
        if let semicolon = type.firstIndex(of: ";") { type = type[..<semicolon] }
        while type.last == " " || type.last == "\t" { type.removeLast() }
        while type.first == " " || type.first == "\t" { type.removeFirst() }
        guard !type.isEmpty else { return nil }
        return type.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) ? type.lowercased() : String(type)
    }

    /// A parameter of the Content-Type header (`boundary` of multipart bodies).
    static func contentTypeParameter(_ request: Request, _ name: String) -> String? {
        request.headers[.contentType].flatMap { MultipartForm.parameter(name, in: $0) }
    }

    static func declaredLength(_ request: Request) -> Int? {
        request.headers[.contentLength].flatMap { Int($0) }
    }

    /// A JSON body of at most `limit` bytes.
    static func json(_ request: Request, limit: Int) async throws -> [UInt8] {
        guard mediaType(request) == "application/json" else { throw BodyRefusal.unsupportedType(expected: "application/json") }
        return try await collect(request, limit: limit)
    }

    /// The whole body, refused once it passes `limit` bytes.
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let length = declaredLength(request), length > limit { throw BodyRefusal.tooLarge(limit: limit) }
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw BodyRefusal.tooLarge(limit: limit)
        } catch {
            throw BodyRefusal.unreadable(reason: "\(error)")
        }
    }

    /// Each piece of the body as it arrives, refused once the total passes `limit`; an error of the
    /// connection becomes `BodyRefusal.unreadable`.
    static func stream(_ request: Request, limit: Int, _ take: (ByteBuffer) async throws -> Void) async throws {
        var total = 0
        var pieces = request.body.makeAsyncIterator()
        while true {
            let piece: ByteBuffer?
            do {
                piece = try await pieces.next()
            } catch {
                throw BodyRefusal.unreadable(reason: "\(error)")
            }
            guard let piece else { return }
            total += piece.readableBytes
            guard total <= limit else { throw BodyRefusal.tooLarge(limit: limit) }
            try await take(piece)
        }
    }
}
