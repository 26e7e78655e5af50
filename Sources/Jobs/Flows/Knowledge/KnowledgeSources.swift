import Crypto
import Foundation
import Queue
import Redis
import Services

/// A document in the account's knowledge, as `switchboard knowledge` shows it: where it came from,
/// whose it is (a listing's, or the account's), whether it is restricted, and how far its
/// indexing is.
///
/// Each add gets a version of its own; the pieces of a version are written to Qdrant hidden
/// (`staging`) and shown only once every piece is there, in one step, before the previous
/// version's pieces are removed — so guests get the old version until the new one is whole,
/// never half of one.
public struct KnowledgeSource: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case indexing
        case ready
        case failed
    }

    public var id: String
    /// The path or URL it was read from.
    public var origin: String
    public var format: DocumentText.Format
    /// The listing it belongs to; nil: the whole account's.
    public var listing: String?
    /// Every piece restricted (door codes and the like), whatever its headings say.
    public var restricted: Bool
    /// SHA-256 of what was asked to be indexed: the text, the listing and the restricted mark.
    public var hash: String
    /// The version asked for last.
    public var version: String
    public var state: State
    /// Pieces of the version asked for, and how many are written so far.
    public var pieces: Int?
    public var written: Int?
    /// The version guests read, and its content hash, once one is whole.
    public var liveVersion: String?
    public var liveHash: String?
    public var livePieces: Int?
    public var error: String?
    /// A re-index's: the version whose pieces this one embeds again (there is no text to cut).
    public var from: String?
    /// When it was last asked for or changed, ISO 8601.
    public var updated: String

    public init(
        id: String, origin: String, format: DocumentText.Format, listing: String?, restricted: Bool, hash: String, version: String,
        updated: String
    ) {
        self.id = id
        self.origin = origin
        self.format = format
        self.listing = listing
        self.restricted = restricted
        self.hash = hash
        self.version = version
        self.state = .indexing
        self.updated = updated
    }

    /// The source id its points carry (`source_id`), apart from calls' and bookings'.
    public var pointSource: String { "doc:\(id)" }

    /// The hash of what an add asks for: the same text with another listing or mark is another source.
    public static func contentHash(text: String, listing: String?, restricted: Bool) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(text.utf8))
        hasher.update(data: Array("\u{0}listing:\(listing ?? "")\u{0}restricted:\(restricted)".utf8))
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// The knowledge sources of a deployment in Redis: one hash of records, and the text of each
/// version waiting to be indexed. The indexing job writes a record only while it is still the
/// version asked for (compare-and-set), so an add that replaces it meanwhile is never overwritten.
public struct KnowledgeSources: Sendable {
    public let pool: RedisPool
    public let keys: Keys

    public init(pool: RedisPool, keys: Keys) {
        self.pool = pool
        self.keys = keys
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public func all() async throws -> [KnowledgeSource] {
        let decoder = JSONDecoder()
        return try await pool.send("HGETALL", keys.knowledgeSources).pairs
            .compactMap { pair in pair.value.string.flatMap { try? decoder.decode(KnowledgeSource.self, from: Data($0.utf8)) } }
            .sorted { $0.id < $1.id }
    }

    public func source(_ id: String) async throws -> KnowledgeSource? {
        guard let text = try await pool.send("HGET", keys.knowledgeSources, id).string else { return nil }
        return try JSONDecoder().decode(KnowledgeSource.self, from: Data(text.utf8))
    }

    /// Records `source` as asked for, with the text its version indexes (none for a re-index of
    /// the pieces it has), in one step; the version guests read meanwhile is carried over from the
    /// record it replaces.
    public func ask(_ asked: KnowledgeSource, text: String?) async throws {
        var source = asked
        if let known = try await self.source(asked.id) {
            source.liveVersion = known.liveVersion
            source.liveHash = known.liveHash
            source.livePieces = known.livePieces
        }
        let record = String(decoding: try Self.encoder.encode(source), as: UTF8.self)
        let replies = try await pool.pipeline(
            (text.map { [RedisCommand("SET", [keys.knowledgeText(source.version), $0])] } ?? [])
                + [RedisCommand("HSET", [keys.knowledgeSources, source.id, record])])
        for reply in replies { if case .error(let message) = reply { throw RedisError.server(command: "HSET", message: message) } }
    }

    /// Writes `source` only if the record still asks for `source.version`; false when another add
    /// (or a removal) came first.
    @discardableResult
    public func update(_ source: KnowledgeSource) async throws -> Bool {
        let record = String(decoding: try Self.encoder.encode(source), as: UTF8.self)
        let reply = try await pool.send(
            RedisCommand(
                "EVAL", [Self.updateIfVersion, "1", keys.knowledgeSources, source.id, "\"version\":\"\(source.version)\"", record]))
        return reply.integer == 1
    }

    /// The text a version indexes, while it waits.
    public func text(_ version: String) async throws -> String? {
        try await pool.send("GET", keys.knowledgeText(version)).string
    }

    public func dropText(_ version: String) async throws {
        try await pool.send("DEL", keys.knowledgeText(version))
    }

    /// Forgets the record (and the text a version of it waits with); returns the record it was.
    public func remove(_ id: String) async throws -> KnowledgeSource? {
        guard let source = try await source(id) else { return nil }
        _ = try await pool.pipeline([
            RedisCommand("HDEL", [keys.knowledgeSources, id]), RedisCommand("DEL", [keys.knowledgeText(source.version)]),
        ])
        return source
    }

    static let updateIfVersion = """
        local current = redis.call('HGET', KEYS[1], ARGV[1])
        if current and string.find(current, ARGV[2], 1, true) then
          redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
          return 1
        end
        return 0
        """
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// Knowledge source id → its record (`KnowledgeSource` as JSON; a hash).
    public var knowledgeSources: String { named("knowledge:sources") }
    /// The text a version of a source indexes, from its add until its indexing ends (a string).
    public func knowledgeText(_ version: String) -> String { named("knowledge:text:\(version)") }
}
