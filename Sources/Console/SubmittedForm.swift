import Foundation
import Hummingbird

/// A form as a browser posts it: url-encoded, or `multipart/form-data` when it carries a file
/// (the Knowledge page's upload). Each name with its values in order, and each file with its name
/// as the visitor's machine gave it.
///
/// The multipart reading follows RFC 7578 as browsers write it (a boundary from the content type,
/// each part's `Content-Disposition: form-data; name="…"; filename="…"`), bounded: at most 64
/// parts, 8 KiB of headers each; anything else is refused as a bad request, never guessed at.
struct SubmittedForm: Sendable {
    struct File: Sendable {
        var filename: String
        var contentType: String?
        var bytes: [UInt8]
    }

    var fields: [String: [String]] = [:]
    var files: [String: File] = [:]

    subscript(_ name: String) -> [String]? { fields[name] }

    /// The form of `request`: a url-encoded body of at most 1 MiB, or a multipart one of at most
    /// `multipartLimit` bytes (none: multipart is refused).
    static func read(_ request: Request, multipartLimit: Int? = nil) async throws -> SubmittedForm {
        let type = request.headers[.contentType] ?? ""
        if type.lowercased().hasPrefix("multipart/form-data") {
            guard let limit = multipartLimit else { throw ConsoleBadRequest("this action takes no file") }
            guard let boundary = boundary(type) else { throw ConsoleBadRequest("a multipart form with no boundary") }
            let buffer: ByteBuffer
            do { buffer = try await request.body.collect(upTo: limit) } catch {
                throw ConsoleBadRequest("the upload is over KNOWLEDGE_MAX_BYTES (\(limit) bytes with the form): nothing was added")
            }
            return try multipart(Array(buffer: buffer), boundary: boundary)
        }
        let buffer = try await request.body.collect(upTo: 1 << 20)
        return SubmittedForm(fields: urlEncoded(String(buffer: buffer)))
    }

    static func urlEncoded(_ text: String) -> [String: [String]] {
        var form: [String: [String]] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                (String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding) ?? ""
            }
            guard let name = parts.first.map(decode), !name.isEmpty else { continue }
            form[name, default: []].append(parts.count == 2 ? decode(parts[1]) : "")
        }
        return form
    }

    /// The `boundary` parameter of a multipart content type (1 to 70 characters, RFC 2046).
    static func boundary(_ contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return (1...70).contains(value.count) ? value : nil
        }
        return nil
    }

    static func multipart(_ body: [UInt8], boundary: String) throws -> SubmittedForm {
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n--\(boundary)".utf8)
        guard var cursor = find(delimiter, in: body, from: 0) else { throw ConsoleBadRequest("the multipart form has no parts") }
        cursor += delimiter.count
        var form = SubmittedForm()
        var parts = 0
        while true {
            if body[cursor...].starts(with: Array("--".utf8)) { return form }
            guard body[cursor...].starts(with: Array("\r\n".utf8)) else { throw ConsoleBadRequest("the multipart form is malformed") }
            cursor += 2
            parts += 1
            guard parts <= 64 else { throw ConsoleBadRequest("a form of more than 64 parts") }
            guard let headersEnd = find(Array("\r\n\r\n".utf8), in: body, from: cursor), headersEnd - cursor <= 8_192 else {
                throw ConsoleBadRequest("a part of the multipart form has no end to its headers")
            }
            let headers = String(decoding: body[cursor..<headersEnd], as: UTF8.self)
            let start = headersEnd + 4
            guard let end = find(separator, in: body, from: start) else {
                throw ConsoleBadRequest("the multipart form ends before its last boundary (an upload cut short?)")
            }
            let content = Array(body[start..<end])
            cursor = end + separator.count
            var name: String?
            var filename: String?
            var contentType: String?
            for line in headers.components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let field = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if field == "content-type" { contentType = value }
                guard field == "content-disposition" else { continue }
                let parameters = dispositionParameters(value)
                name = parameters["name"]
                filename = parameters["filename"]
            }
            guard let name, !name.isEmpty else { throw ConsoleBadRequest("a part of the multipart form has no name") }
            if let filename {
                // A file input left empty is sent as a part with an empty file name and no content.
                if !filename.isEmpty || !content.isEmpty {
                    form.files[name] = File(filename: filename, contentType: contentType, bytes: content)
                }
            } else {
                form.fields[name, default: []].append(String(decoding: content, as: UTF8.self))
            }
        }
    }

    /// `form-data; name="a"; filename="b.md"` → name and filename, quotes taken off. Browsers
    /// write a quote inside a value as `%22` and line breaks as `%0D%0A`; those are decoded.
    static func dispositionParameters(_ value: String) -> [String: String] {
        var result: [String: String] = [:]
        var parameters: [String] = []
        var current = ""
        var quoted = false
        for character in value {
            if character == "\"" { quoted.toggle() }
            if character == ";" && !quoted {
                parameters.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parameters.append(current)
        for parameter in parameters.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            var text = pair[1]
            if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
            text = text.replacingOccurrences(of: "%22", with: "\"").replacingOccurrences(of: "%0D", with: "\r")
                .replacingOccurrences(of: "%0A", with: "\n")
            result[pair[0].lowercased()] = text
        }
        return result
    }

    /// Where `needle` first starts in `haystack` at or after `from`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, haystack.count - from >= needle.count else { return nil }
        var index = from
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
