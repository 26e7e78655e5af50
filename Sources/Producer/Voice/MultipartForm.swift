import Foundation

/// A `multipart/form-data` body split into its parts (RFC 7578): each part's name, filename,
/// content type and bytes. Enough for a voice upload form; refuses anything it cannot frame.
struct MultipartForm {
    struct Part {
        var name: String?
        var filename: String?
        var contentType: String?
        var body: ArraySlice<UInt8>

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    var parts: [Part]

    func field(_ name: String) -> String? {
        parts.first { $0.name == name && $0.filename == nil }?.text
    }

    init(body: [UInt8], boundary: String) throws(MalformedBody) {
        guard !boundary.isEmpty, boundary.utf8.count <= 70 else {
            throw MalformedBody(message: "multipart boundary is missing or too long", field: nil)
        }
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n--\(boundary)".utf8)
        guard body.starts(with: delimiter) else {
            throw MalformedBody(message: "multipart body does not start with its boundary", field: nil)
        }
        var parts: [Part] = []
        var cursor = delimiter.count
        while true {
            // After a delimiter: "--" closes the body, CRLF opens a part.
            if body[cursor...].starts(with: [45, 45]) { break }
            guard body[cursor...].starts(with: [13, 10]) else { throw MalformedBody(message: "malformed multipart delimiter", field: nil) }
            cursor += 2
            let headerEnd: Int
            if body[cursor...].starts(with: [13, 10]) {
                headerEnd = cursor - 2  // a part without headers
            } else if let end = Self.find([13, 10, 13, 10], in: body, from: cursor) {
                headerEnd = end
            } else {
                throw MalformedBody(message: "multipart part without a header end", field: nil)
            }
            var part = Part(body: [])
            let headers = String(decoding: body[cursor..<max(cursor, headerEnd)], as: UTF8.self)
            for line in headers.split(separator: "\r\n") {
                let pair = line.split(separator: ":", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let value = pair[1].trimmingCharacters(in: .whitespaces)
                switch pair[0].trimmingCharacters(in: .whitespaces).lowercased() {
                case "content-disposition":
                    part.name = Self.parameter("name", in: value)
                    part.filename = Self.parameter("filename", in: value)
                case "content-type":
                    part.contentType = value.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                default: break
                }
            }
            let bodyStart = headerEnd + 4
            guard let bodyEnd = Self.find(separator, in: body, from: bodyStart) else {
                throw MalformedBody(message: "multipart part is not closed by its boundary", field: nil)
            }
            part.body = body[bodyStart..<bodyEnd]
            parts.append(part)
            cursor = bodyEnd + separator.count
        }
        self.parts = parts
    }

    static func parameter(_ name: String, in value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            return pair[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: ["\""])
        }
        return nil
    }

    /// The first index of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
