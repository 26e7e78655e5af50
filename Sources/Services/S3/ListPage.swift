import Foundation

/// One page of a ListObjectsV2 answer, read from its XML: each `<Contents>`'s key, last-modified
/// time and size, and the token of the next page when `<IsTruncated>` is true. A small reader for
/// this one document, so the binary needs no XML library.
struct ListPage {
    /// Nil when the document is not a `ListBucketResult`.
    let objects: [S3Client.Object]?
    let nextToken: String?
    /// Marked truncated, yet naming no next page: the listing cannot be finished.
    let truncatedWithoutToken: Bool

    init(_ xml: String) {
        guard xml.contains("<ListBucketResult") else {
            objects = nil
            nextToken = nil
            truncatedWithoutToken = false
            return
        }
        var found: [S3Client.Object] = []
        for contents in Self.elements("Contents", in: xml) {
            guard let key = Self.elements("Key", in: contents).first.map(Self.unescape),
                let modified = Self.elements("LastModified", in: contents).first.flatMap(Self.date)
            else { continue }
            found.append(
                S3Client.Object(
                    key: key, lastModified: modified, size: Self.elements("Size", in: contents).first.flatMap { Int($0) } ?? 0,
                    etag: Self.elements("ETag", in: contents).first.map(Self.unescape) ?? ""))
        }
        objects = found
        let truncated = Self.elements("IsTruncated", in: xml).first == "true"
        let token = truncated ? Self.elements("NextContinuationToken", in: xml).first.map(Self.unescape) : nil
        nextToken = token?.isEmpty == true ? nil : token
        truncatedWithoutToken = truncated && nextToken == nil
    }

    /// The text inside each `<name>…</name>`, in order.
    static func elements(_ name: String, in xml: String) -> [String] {
        var values: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            values.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return values
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(
                of: "&amp;", with: "&")
    }

    /// `2026-11-26T01:18:00.000Z` (fractional seconds optional).
    static func date(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 20 else { return nil }
        let digits = trimmed.prefix(19).split(whereSeparator: { "-T:".contains($0) }).compactMap { Int($0) }
        guard digits.count == 6 else { return nil }
        return UTCTime.calendar.date(
            from: DateComponents(year: digits[0], month: digits[1], day: digits[2], hour: digits[3], minute: digits[4], second: digits[5]))
    }
}
