import Foundation
import Queue
import Redis
import Services

/// How a document becomes knowledge asked for: the one way `switchboard knowledge add`, the
/// console's upload and both kinds of re-index take, so each is held to the same rules — the same
/// size bound, the same formats, and an unchanged document asks no embedding service for anything.
public enum KnowledgeIntake {
    /// What an add came to.
    public enum Outcome: Sendable, Equatable {
        /// The same text, listing and mark are already indexed: nothing was asked.
        case unchanged(KnowledgeSource)
        /// A version is being indexed: the one just asked for, or the same one asked before.
        case indexing(KnowledgeSource)

        public var source: KnowledgeSource {
            switch self {
            case .unchanged(let source), .indexing(let source): source
            }
        }
    }

    /// Whether `text` may be a source's id or a listing's: 1 to 200 characters, no control
    /// characters, no white space but the space.
    public static func acceptable(_ text: String) -> Bool {
        (1...200).contains(text.count) && !text.contains { $0.isWhitespace && $0 != " " || $0.unicodeScalars.contains { $0.value < 0x20 } }
    }

    /// `KNOWLEDGE_MAX_BYTES`: the largest document read (50 MB when not set).
    public static func maxBytes(_ setting: String?) throws -> Int {
        guard let setting else { return 50_000_000 }
        guard let bytes = Int(setting), bytes > 0 else {
            throw ConfigurationError("KNOWLEDGE_MAX_BYTES '\(setting)' is not a positive number of bytes")
        }
        return bytes
    }

    /// Records `text` as the next version of source `id` and asks a consumer of the knowledge
    /// queue to index it — unless the same text, listing and mark are indexed or being indexed
    /// already, and `force` is off.
    public static func add(
        id: String, origin: String, text: String, format: DocumentText.Format, listing: String?, restricted: Bool, force: Bool = false,
        pool: RedisPool, keys: Keys
    ) async throws -> Outcome {
        let store = KnowledgeSources(pool: pool, keys: keys)
        let hash = KnowledgeSource.contentHash(text: text, listing: listing, restricted: restricted)
        if !force, let known = try await store.source(id), known.hash == hash, known.state != .failed {
            return known.state == .ready ? .unchanged(known) : .indexing(known)
        }
        let source = KnowledgeSource(
            id: id, origin: origin, format: format, listing: listing, restricted: restricted, hash: hash,
            version: UUID().uuidString.lowercased(), updated: ISO8601DateFormatter().string(from: Date()))
        try await store.ask(source, text: text)
        try await Broker(pool: pool, keys: keys).add(try KnowledgeIndexing.request(source).envelope(), to: KnowledgeIndexing.queue)
        return .indexing(source)
    }

    /// Indexes source `id` again as a new version: a URL is read again; any other source's
    /// pieces are taken from the version guests read now and embedded afresh (after a change of
    /// embedding model, say). Nil when there is no such source; a `DocumentError` when there is
    /// nothing to index it from (a file or upload with no version indexed: add it again).
    public static func reindex(_ id: String, limit: Int, pool: RedisPool, keys: Keys) async throws -> Outcome? {
        let store = KnowledgeSources(pool: pool, keys: keys)
        guard let known = try await store.source(id) else { return nil }
        if HTTPClient.isWebURL(known.origin) {
            let (text, format) = try await read(known.origin, limit: limit)
            return try await add(
                id: id, origin: known.origin, text: text, format: format, listing: known.listing, restricted: known.restricted,
                force: true, pool: pool, keys: keys)
        }
        guard let live = known.liveVersion else {
            throw DocumentError(
                "\(id) has no indexed version to take its pieces from, and \(known.origin) cannot be read again: add it again")
        }
        var source = KnowledgeSource(
            id: id, origin: known.origin, format: known.format, listing: known.listing, restricted: known.restricted,
            hash: known.liveHash ?? known.hash, version: UUID().uuidString.lowercased(),
            updated: ISO8601DateFormatter().string(from: Date()))
        source.from = live
        try await store.ask(source, text: nil)
        try await Broker(pool: pool, keys: keys).add(try KnowledgeIndexing.request(source).envelope(), to: KnowledgeIndexing.queue)
        return .indexing(source)
    }

    /// A document's text and format, from a file or an http(s) URL, at most `limit` bytes.
    public static func read(_ origin: String, limit: Int) async throws -> (String, DocumentText.Format) {
        let bytes: [UInt8]
        var contentType: String?
        if origin.contains("://") {
            guard HTTPClient.isWebURL(origin) else { throw DocumentError("\(origin): only http and https URLs are read") }
            let http = HTTPClient(connections: 1)
            let response: HTTPClient.Response
            do {
                response = try await http.sendChecked(HTTPClient.Request("GET", origin, timeout: .seconds(60), maxResponseBytes: limit))
            } catch let failure as HTTPFailure {
                throw DocumentError("cannot read \(origin): \(failure)")
            }
            bytes = response.body
            contentType = response.headers.first { $0.0 == "content-type" }?.1
        } else {
            let attributes: [FileAttributeKey: Any]
            do { attributes = try FileManager.default.attributesOfItem(atPath: origin) } catch {
                throw DocumentError("cannot read \(origin): no such file")
            }
            guard attributes[.type] as? FileAttributeType == .typeRegular else { throw DocumentError("\(origin) is not a file") }
            let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            guard size <= limit else { throw DocumentError("\(origin) is \(size) bytes, over KNOWLEDGE_MAX_BYTES (\(limit))") }
            guard let data = FileManager.default.contents(atPath: origin) else { throw DocumentError("cannot read \(origin)") }
            bytes = Array(data)
        }
        return try await text(bytes, name: origin, contentType: contentType)
    }

    /// The text of a document's bytes, its format told by its name or content type.
    public static func text(_ bytes: [UInt8], name: String, contentType: String?) async throws -> (String, DocumentText.Format) {
        guard let format = DocumentText.format(name: name, contentType: contentType) else {
            throw DocumentError("cannot tell what \(name) is: name it .md, .txt, .html or .pdf")
        }
        return (try await DocumentText.extract(bytes, format: format, name: name), format)
    }
}
