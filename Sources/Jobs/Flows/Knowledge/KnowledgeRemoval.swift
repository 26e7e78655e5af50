import Foundation
import Queue
import Redis
import Services

/// What a removal asks a consumer to do: delete the pieces of a source whose record is gone.
public struct KnowledgeRemovalRequest: Codable, Sendable, Equatable {
    public var source: String

    public init(source: String) { self.source = source }
}

/// Taking a source out of the knowledge: its record first (so an indexing still running finds it
/// gone and drops what it wrote), then its pieces in Qdrant — at once by `switchboard knowledge
/// remove`, which reads Qdrant itself, or by `knowledge.remove` on the knowledge queue for the
/// console, which holds no Qdrant key (and Qdrant's failures are then retried like any job's).
///
/// Guarantee: only pieces guests could read are deleted, and never those of a source added again
/// under the same id meanwhile (its version, and the version it shows, are kept); hidden pieces
/// belong to an indexing that removes them itself.
public enum KnowledgeRemoval {
    public static let kind = "knowledge.remove"
    public static let queue = KnowledgeIndexing.queue
    public static let retry = RetryPolicy.exponentialJitter(maxAttempts: 10, base: .seconds(5), cap: .seconds(300))

    static func definition(_ services: FlowServices) -> JobDefinition {
        JobDefinition(kind: kind, queue: queue, retry: retry, timeout: .seconds(120), payload: KnowledgeRemovalRequest.self) {
            request, context in
            let current = try await KnowledgeSources(pool: context.redis, keys: services.keys).source(request.source)
            try await deletePieces(services.qdrant, of: request.source, keeping: current)
            await AssistantMetrics.recordKnowledge(pool: context.redis, keys: services.keys)
            context.logger.info("knowledge source removed", metadata: ["knowledge.source": "\(request.source)"])
            return .done
        }
    }

    /// Forgets source `id`'s record and asks for its pieces to be deleted; the record it was, or
    /// nil when there is no such source.
    public static func remove(_ id: String, pool: RedisPool, keys: Keys) async throws -> KnowledgeSource? {
        guard let removed = try await KnowledgeSources(pool: pool, keys: keys).remove(id) else { return nil }
        let payload = String(decoding: try FlowPayloadCoding.encoder.encode(KnowledgeRemovalRequest(source: id)), as: UTF8.self)
        let request = JobRequest(queue: queue, kind: kind, payload: payload, maxAttempts: retry.maxAttempts)
        try await Broker(pool: pool, keys: keys).add(request.envelope(), to: queue)
        return removed
    }

    /// Deletes the shown pieces of source `id`, except those of `current` (the record the id
    /// has now, if it was added again).
    public static func deletePieces(_ qdrant: QdrantClient, of id: String, keeping current: KnowledgeSource?) async throws {
        let kept = [current?.version, current?.liveVersion].compactMap { $0 }
        try await qdrant.delete(
            QdrantFilter(
                must: [.equals("source_id", .string("doc:\(id)")), .equals("staging", .bool(false))],
                mustNot: kept.isEmpty ? [] : [.any("version", kept)]))
    }
}
