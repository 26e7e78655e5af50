/// A document cut into the pieces that are embedded and retrieved: along its headings first (a
/// piece never spans two sections), then its paragraphs, packed up to about `size` characters; a
/// paragraph longer than that is cut between words with an overlap (`TextChunks`).
///
/// Each piece carries the path of headings above it as its title, so an answer can say where it
/// comes from, and whether it is restricted: a Markdown heading ending in `[restricted]` (any case)
/// makes its section and every section under it restricted (door codes, Wi-Fi passwords); the
/// marker itself is not part of the title.
public struct DocumentPiece: Codable, Sendable, Equatable {
    public var title: String
    public var text: String
    public var restricted: Bool

    public init(title: String, text: String, restricted: Bool) {
        self.title = title
        self.text = text
        self.restricted = restricted
    }

    /// What is embedded: the title, then the text.
    public var embedded: String { title.isEmpty ? text : title + "\n\n" + text }
}

public enum DocumentChunks {
    static let marker = "[restricted]"

    public static func pieces(_ text: String, size: Int = 1_000) -> [DocumentPiece] {
        var pieces: [DocumentPiece] = []
        var headings: [(level: Int, title: String, restricted: Bool)] = []
        var paragraphs: [String] = []
        var paragraph: [Substring] = []

        func endParagraph() {
            let joined = paragraph.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            if !joined.isEmpty { paragraphs.append(joined) }
            paragraph = []
        }
        func endSection() {
            endParagraph()
            let title = headings.map(\.title).joined(separator: " › ")
            let restricted = headings.contains { $0.restricted }
            var current = ""
            for text in paragraphs {
                let parts = text.count > size ? TextChunks.split(text, size: size) : [text]
                for part in parts {
                    if !current.isEmpty && current.count + 2 + part.count > size {
                        pieces.append(DocumentPiece(title: title, text: current, restricted: restricted))
                        current = ""
                    }
                    current = current.isEmpty ? part : current + "\n\n" + part
                }
            }
            if !current.isEmpty { pieces.append(DocumentPiece(title: title, text: current, restricted: restricted)) }
            paragraphs = []
        }

        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let heading = heading(line) {
                endSection()
                while let last = headings.last, last.level >= heading.level { headings.removeLast() }
                headings.append(heading)
            } else if line.allSatisfy(\.isWhitespace) {
                endParagraph()
            } else {
                paragraph.append(line)
            }
        }
        endSection()
        return pieces
    }

    /// A Markdown ATX heading (`## Title`), with its restricted marker taken off the title.
    static func heading(_ line: Substring) -> (level: Int, title: String, restricted: Bool)? {
        let trimmed = line.drop { $0 == " " }
        let hashes = trimmed.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes), trimmed.dropFirst(hashes).first?.isWhitespace ?? false else { return nil }
        var title = trimmed.dropFirst(hashes).trimmingCharacters(in: .whitespaces)
        while title.hasSuffix("#") { title = String(title.dropLast()).trimmingCharacters(in: .whitespaces) }
        let restricted = title.lowercased().hasSuffix(marker)
        if restricted { title = String(title.dropLast(marker.count)).trimmingCharacters(in: .whitespaces) }
        return (hashes, title, restricted)
    }
}
