import Queue
import Services

/// Writes what Switchboard learns (call transcripts, booking facts) into the account's knowledge
/// collection in Qdrant.
///
/// Point ids derive from the source and the piece's position, so indexing the same call or
/// booking again overwrites its points. Every point is marked `private`: it is knowledge about one
/// guest, which agents may search but which never grounds an answer to another guest (the chat
/// flow's retrieval leaves private points out).
enum KnowledgeIndex {
    /// Embeds `texts` and upserts them as `source#0`, `source#1`, … with `payload` plus the text,
    /// its position, the account and the private mark. Returns how many points were written.
    @discardableResult
    static func write(_ services: FlowServices, account: Int, source: String, texts: [String], payload: [String: JSONValue]) async throws
        -> Int
    {
        guard !texts.isEmpty else { return 0 }
        let vectors = try await services.embeddings.embed(texts)
        guard vectors.count == texts.count, let size = vectors.first?.count, size > 0 else {
            throw JobFailure.permanent("the embeddings service answered \(vectors.count) vectors for \(texts.count) texts")
        }
        try await services.qdrant.ensureCollection(vectorSize: size)
        let points = zip(texts, vectors).enumerated().map { index, pair in
            var fields = payload
            fields["account_id"] = .integer(account)
            fields["private"] = .bool(true)
            fields["source_id"] = .string(source)
            fields["chunk"] = .integer(index)
            fields["text"] = .string(pair.0)
            return QdrantClient.Point(id: QdrantClient.pointID(for: "\(source)#\(index)"), vector: pair.1, payload: fields)
        }
        try await services.qdrant.upsert(points)
        return points.count
    }
}
