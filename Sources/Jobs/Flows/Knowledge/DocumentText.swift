import Foundation
import Services

/// The text of a document a property manager adds to the knowledge (`switchboard knowledge add`):
/// Markdown and plain text as they are, HTML with its scripts, styles and markup dropped (headings
/// kept as Markdown headings, so pieces still follow them), PDF through poppler-utils' `pdftotext`
/// run as a child process.
///
/// Refused with a `DocumentError` that says why: a file that is not what its name says, text that
/// is not UTF-8, a document with no text (an image-only or encrypted PDF), one over the size bound.
public enum DocumentText {
    public enum Format: String, Codable, Sendable, CaseIterable {
        case markdown
        case text
        case html
        case pdf
    }

    /// The format a name (a path or URL) and, for a download, its `Content-Type` say.
    public static func format(name: String, contentType: String? = nil) -> Format? {
        let type = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        switch type {
        case "application/pdf": return .pdf
        case "text/html", "application/xhtml+xml": return .html
        case "text/markdown": return .markdown
        default: break
        }
        let path = name.split(separator: "?").first.map(String.init) ?? name
        switch (path as NSString).pathExtension.lowercased() {
        case "md", "markdown": return .markdown
        case "txt", "text": return .text
        case "html", "htm": return .html
        case "pdf": return .pdf
        default: return type == "text/plain" ? .text : nil
        }
    }

    /// The document's text. `pdftotext` is the program run for a PDF.
    public static func extract(_ bytes: [UInt8], format: Format, name: String, pdftotext: String = "/usr/bin/pdftotext") async throws
        -> String
    {
        let text: String
        switch format {
        case .pdf:
            guard bytes.starts(with: Array("%PDF-".utf8)) else {
                throw DocumentError("\(name) is not a PDF (it does not start with %PDF-)")
            }
            text = try await pdfText(bytes, name: name, pdftotext: pdftotext)
        case .markdown, .text, .html:
            if bytes.starts(with: Array("%PDF-".utf8)) { throw DocumentError("\(name) is a PDF, not \(format.rawValue): name it .pdf") }
            guard let decoded = String(validating: bytes, as: UTF8.self) else {
                throw DocumentError("\(name) is not UTF-8 text; save it as UTF-8 and add it again")
            }
            guard !decoded.contains("\u{0}") else { throw DocumentError("\(name) holds binary data, not \(format.rawValue)") }
            text = format == .html ? htmlText(decoded) : decoded
        }
        guard text.contains(where: { $0.isLetter || $0.isNumber }) else {
            throw DocumentError(
                format == .pdf
                    ? "\(name) has no text to index (an image-only or encrypted PDF?)" : "\(name) has no text to index")
        }
        return text
    }

    /// pdftotext's text of a PDF, run on a temporary copy, bounded in time and output.
    static func pdfText(_ bytes: [UInt8], name: String, pdftotext: String) async throws -> String {
        guard FileManager.default.isExecutableFile(atPath: pdftotext) else {
            throw DocumentError("cannot read \(name): \(pdftotext) is missing (Debian's poppler-utils has it)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-pdf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("document.pdf")
        try Data(bytes).write(to: file)
        let limit = 64 << 20
        let child = try Subprocess(
            pdftotext, ["-q", "-enc", "UTF-8", "-nopgbrk", file.path, "-"], environment: [:], output: .pipe, error: .pipe)
        let output = PipeCapture(fd: child.standardOutput!, limit: limit + 1)
        let errors = PipeCapture(fd: child.standardError!, limit: 4096)
        guard let status = await child.wait(timeout: .seconds(120)) else {
            await child.stop(grace: .seconds(1))
            throw DocumentError("cannot read \(name): pdftotext did not finish within 120 s")
        }
        _ = await output.waitFinished(timeout: .seconds(10))
        _ = await errors.waitFinished(timeout: .seconds(1))
        guard status == 0 else {
            let said = errors.text.trimmingCharacters(in: .whitespacesAndNewlines)
            throw DocumentError(
                "cannot read \(name): pdftotext exited \(status)" + (said.isEmpty ? " (an encrypted or damaged PDF?)" : ": \(said)"))
        }
        let text = output.text
        guard text.utf8.count <= limit else { throw DocumentError("\(name) holds more than \(limit >> 20) MiB of text") }
        return text
    }

    /// The text of an HTML page: scripts, styles and comments dropped with their content, headings
    /// as Markdown headings, block elements as line breaks, entities decoded.
    static func htmlText(_ html: String) -> String {
        var text = html
        for pattern in [
            #"<!--[\s\S]*?-->"#, #"<script\b[\s\S]*?</script\s*>"#, #"<style\b[\s\S]*?</style\s*>"#, #"<(script|style)\b[\s\S]*"#,
        ] {
            text = text.replacingOccurrences(of: pattern, with: " ", options: [.regularExpression, .caseInsensitive])
        }
        for level in 1...6 {
            text = text.replacingOccurrences(
                of: "<h\(level)\\b[^>]*>", with: "\n\n" + String(repeating: "#", count: level) + " ",
                options: [.regularExpression, .caseInsensitive])
        }
        text = text.replacingOccurrences(
            of: #"</?(p|div|br|li|tr|ul|ol|table|section|article|h[1-6])\b[^>]*>"#, with: "\n",
            options: [.regularExpression, .caseInsensitive])
        text = text.replacingOccurrences(of: #"<[^>]*>"#, with: " ", options: .regularExpression)
        for (entity, character) in [("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&apos;", "'")] {
            text = text.replacingOccurrences(of: entity, with: character)
        }
        text = text.replacingOccurrences(of: "&amp;", with: "&")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
        }
        return lines.joined(separator: "\n").replacingOccurrences(of: #"\n{3,}"#, with: "\n\n", options: .regularExpression)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Why a document cannot be added to the knowledge, said so a property manager can fix it.
public struct DocumentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
