import Foundation
import Logging
import Queue
import Redis
import Services

/// What `switchboard knowledge add` asks a consumer to do: index one version of a source.
public struct KnowledgeIndexRequest: Codable, Sendable, Equatable {
    public var source: String
    public var version: String

    public init(source: String, version: String) {
        self.source = source
        self.version = version
    }
}

/// `knowledge.index`, on a queue of its own (`knowledge`), so a 300-page manual never holds up a
/// guest's answer: cuts the version's text into pieces (`DocumentChunks`), embeds them in batches,
/// writes them hidden, then shows them and removes the previous version's pieces.
///
/// Guarantees: guests read the previous version until this one is whole (a failure half-way,
/// however many times retried or finally dead-lettered, leaves the old version as it was); a
/// version that is no longer the one asked for (another add or a removal came meanwhile) stops
/// and removes what it wrote; a retry rewrites the same point ids, so nothing is left over. The
/// embeddings' 429s hold the job back without costing an attempt (as every service's do).
public enum KnowledgeIndexing {
    public static let kind = "knowledge.index"
    public static let queue = "knowledge"
    public static let retry = RetryPolicy.exponentialJitter(maxAttempts: 8, base: .seconds(5), cap: .seconds(300))
    /// Texts per embeddings call: the OpenAI-compatible services take up to 2,048 inputs; fewer
    /// keeps each call well inside its timeout and its token limit.
    public static let batch = 64

    /// The kind, for a consumer that knows its account (`CHATWOOT_ACCOUNT_ID`), as the booking flow's.
    public static func definitions(_ services: FlowServices) -> [JobDefinition] {
        services.account == nil
            ? []
            : [
                definition(services), ListingKnowledge.definition(services), AnswerCandidates.definition(services),
                KnowledgeRemoval.definition(services), TrialQuestions.definition(services),
            ]
    }

    static func definition(_ services: FlowServices) -> JobDefinition {
        JobDefinition(
            kind: kind, queue: queue, retry: retry, timeout: .seconds(900), restartable: true, payload: KnowledgeIndexRequest.self,
            onDeadLetter: { request, error, redis in try await failed(services, redis: redis, request, error: error) }
        ) { request, context in
            try await index(services, redis: context.redis, logger: context.logger, request)
        }
    }

    /// Indexes `request`'s version of its source, as the job does (the listing job calls it too).
    static func index(_ services: FlowServices, redis: RedisPool, logger: Logger, _ request: KnowledgeIndexRequest) async throws
        -> JobResult
    {
        let sources = KnowledgeSources(pool: redis, keys: services.keys)
        guard var source = try await sources.source(request.source), source.version == request.version else {
            logger.info("knowledge source changed or removed since this version was asked for; dropping it")
            try await dropVersion(services, request)
            try await sources.dropText(request.version)
            return .done
        }
        guard let account = services.account else { throw JobFailure.permanent("knowledge needs CHATWOOT_ACCOUNT_ID") }
        let pieces: [DocumentPiece]
        if let text = try await sources.text(request.version) {
            pieces = DocumentChunks.pieces(text)
        } else if let from = source.from {
            pieces = try await self.pieces(services, of: source.pointSource, version: from)
            guard !pieces.isEmpty else {
                throw JobFailure.permanent("the pieces of \(request.source) version \(from) are gone: add the document again")
            }
        } else {
            throw JobFailure.permanent("the text of \(request.source) version \(request.version) is gone from Redis")
        }
        guard !pieces.isEmpty else { throw JobFailure.permanent("\(request.source) has no text to index") }
        source.pieces = pieces.count
        source.written = 0
        try await sources.update(source)
        var ensured = false
        for start in stride(from: 0, to: pieces.count, by: batch) {
            let slice = Array(pieces[start..<min(start + batch, pieces.count)])
            let vectors = try await services.embeddings.embed(slice.map(\.embedded))
            guard vectors.count == slice.count, let size = vectors.first?.count, size > 0 else {
                throw JobFailure.permanent("the embeddings service answered \(vectors.count) vectors for \(slice.count) texts")
            }
            if !ensured {
                try await services.qdrant.ensureCollection(vectorSize: size)
                ensured = true
            }
            let points = zip(slice, vectors).enumerated().map { offset, pair in
                QdrantClient.Point(
                    id: QdrantClient.pointID(for: "\(source.pointSource)@\(request.version)#\(start + offset)"), vector: pair.1,
                    payload: payload(source, account: account, piece: pair.0, position: start + offset))
            }
            try await services.qdrant.upsert(points)
            source.written = start + slice.count
            guard try await sources.update(source) else {
                try await dropVersion(services, request)
                try await sources.dropText(request.version)
                return .done
            }
        }
        // Shown in one step, then the previous version removed: never half of one.
        try await services.qdrant.setPayload(["staging": .bool(false)], where: versionFilter(source.pointSource, request.version))
        try await services.qdrant.delete(
            QdrantFilter(
                must: [.equals("source_id", .string(source.pointSource))],
                mustNot: [.equals("version", .string(request.version)), .equals("staging", .bool(true))]))
        source.state = .ready
        source.liveVersion = request.version
        source.liveHash = source.hash
        source.livePieces = pieces.count
        source.error = nil
        source.from = nil
        source.updated = ISO8601DateFormatter().string(from: Date())
        try await sources.update(source)
        try await sources.dropText(request.version)
        await AssistantMetrics.recordKnowledge(pool: redis, keys: services.keys)
        logger.info("knowledge source indexed", metadata: ["knowledge.source": "\(source.id)", "knowledge.pieces": "\(pieces.count)"])
        return .done
    }

    /// A version that will not be indexed: what it wrote removed, its source marked failed with
    /// `error` while it is still the version asked for (the previous version stays what guests read).
    static func failed(_ services: FlowServices, redis: RedisPool, _ request: KnowledgeIndexRequest, error: String) async throws {
        let sources = KnowledgeSources(pool: redis, keys: services.keys)
        try await dropVersion(services, request)
        if var source = try await sources.source(request.source), source.version == request.version {
            source.state = .failed
            source.error = error
            source.updated = ISO8601DateFormatter().string(from: Date())
            try await sources.update(source)
        }
        try await sources.dropText(request.version)
        await AssistantMetrics.recordKnowledge(pool: redis, keys: services.keys)
    }

    /// The pieces a version wrote, in their order: what a re-index embeds again.
    static func pieces(_ services: FlowServices, of pointSource: String, version: String) async throws -> [DocumentPiece] {
        try await services.qdrant.points(versionFilter(pointSource, version)).compactMap(\.payload)
            .sorted { ($0["chunk"]?.integer ?? 0) < ($1["chunk"]?.integer ?? 0) }
            .map { payload in
                DocumentPiece(
                    title: payload["title"]?.string ?? "", text: payload["text"]?.string ?? "",
                    restricted: payload["restricted"] == .bool(true))
            }
    }

    /// A piece's payload: whose it is, where it comes from, whether it is restricted, hidden until shown.
    static func payload(_ source: KnowledgeSource, account: Int, piece: DocumentPiece, position: Int) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "account_id": .integer(account), "source_id": .string(source.pointSource), "kind": .string("document"),
            "origin": .string(source.origin), "title": .string(piece.title), "text": .string(piece.text),
            "chunk": .integer(position), "version": .string(source.version),
            "restricted": .bool(source.restricted || piece.restricted), "staging": .bool(true),
        ]
        if let listing = source.listing { fields["listing_id"] = .string(listing) }
        return fields
    }

    static func versionFilter(_ pointSource: String, _ version: String) -> QdrantFilter {
        QdrantFilter(must: [.equals("source_id", .string(pointSource)), .equals("version", .string(version))])
    }

    /// Removes what a version that will not be shown wrote (its pieces are still hidden).
    static func dropVersion(_ services: FlowServices, _ request: KnowledgeIndexRequest) async throws {
        try await services.qdrant.delete(
            QdrantFilter(
                must: [
                    .equals("source_id", .string("doc:\(request.source)")), .equals("version", .string(request.version)),
                    .equals("staging", .bool(true)),
                ]))
    }

    /// The job an add enqueues for `source`'s version.
    public static func request(_ source: KnowledgeSource) throws -> JobRequest {
        let text = String(
            decoding: try FlowPayloadCoding.encoder.encode(KnowledgeIndexRequest(source: source.id, version: source.version)),
            as: UTF8.self)
        return JobRequest(queue: queue, kind: kind, payload: text, maxAttempts: retry.maxAttempts, dedupe: "knowledge:\(source.version)")
    }
}
