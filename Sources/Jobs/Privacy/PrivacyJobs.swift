import Blobs
import Foundation
import Queue
import Redis
import Services

/// `privacy.find` and `privacy.forget` (queue `privacy`): a person's data found or forgotten by a
/// consumer that holds the keys of Qdrant, the blob store and Chatwoot — the command line and the
/// console hold none of them, and ask through Redis.
///
/// The asker keeps the request (identifier included) under its id (`{p}:privacy:request:<id>`,
/// an hour) and enqueues a job that names only the id, so no stream, history or dead letter ever
/// holds the identifier; the consumer removes the request when done and keeps the report an hour
/// (`{p}:privacy:report:<id>`). A forget is written to the audit (who, the identifier's hash,
/// how many items removed, whether complete) — never the data.
public enum PrivacyJobs {
    public static let queue = "privacy"
    public static let runKind = "privacy.run"
    static let retry = RetryPolicy.exponentialJitter(maxAttempts: 3, base: .seconds(10), cap: .seconds(60))
    /// How long a request waits to be taken and a report is kept.
    static let kept = 3_600

    struct Ticket: Codable, Sendable { var id: String }

    static func definition(_ services: FlowServices, blobs: BlobStore?, mirror: MirrorSettings?) -> JobDefinition {
        JobDefinition(
            kind: runKind, queue: queue, retry: retry, timeout: .seconds(3_600), restartable: true, payload: Ticket.self,
            onDeadLetter: { ticket, error, redis in
                var report = PrivacyReport(subject: "?", forgot: false, dryRun: false)
                report.failed = error
                try await keep(report, for: ticket.id, pool: redis, keys: services.keys)
                _ = try await redis.send("DEL", services.keys.privacyRequest(ticket.id))
            }
        ) { ticket, context in
            guard let account = services.account else { throw JobFailure.permanent("finding a person's data needs CHATWOOT_ACCOUNT_ID") }
            guard let text = try await context.redis.send("GET", services.keys.privacyRequest(ticket.id)).string,
                let request = try? JSONDecoder().decode(PrivacyRequest.self, from: Data(text.utf8))
            else {
                throw JobFailure.permanent("privacy request \(ticket.id) is gone (asked more than an hour ago, or already answered)")
            }
            if let problem = request.problem { throw JobFailure.permanent(problem) }
            let data = PersonalData(
                pool: context.redis, keys: services.keys, account: account, qdrant: services.qdrant, chatwoot: services.chatwoot,
                blobs: blobs, mirror: mirror, queues: try await knownQueues(context.redis, services.keys))
            let report = await data.run(request, logger: context.logger)
            try await keep(report, for: ticket.id, pool: context.redis, keys: services.keys)
            _ = try await context.redis.send("DEL", services.keys.privacyRequest(ticket.id))
            context.logger.info(
                "privacy run",
                metadata: [
                    "forgot": "\(report.forgot)", "held": "\(report.held)", "removed": "\(report.removed)",
                    "complete": "\(report.complete)",
                ])
            return .done
        }
    }

    /// Every queue of this build and any other the deployment has used.
    static func knownQueues(_ pool: RedisPool, _ keys: Keys) async throws -> [String] {
        let registered = (try await pool.send("SMEMBERS", keys.queues).array ?? []).compactMap(\.string)
        return Set(registered + StageGraph.queues).sorted()
    }

    /// Keeps `request` and enqueues the job that answers it; returns the request's id.
    public static func ask(_ request: PrivacyRequest, broker: Broker) async throws -> String {
        let text = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        try await broker.pool.send("SET", broker.keys.privacyRequest(request.id), text, "EX", String(kept))
        let payload = String(decoding: try JSONEncoder().encode(Ticket(id: request.id)), as: UTF8.self)
        _ = try await broker.add(Envelope(kind: runKind, maxAttempts: retry.maxAttempts, payload: payload), to: queue)
        return request.id
    }

    /// The report of request `id`; nil while it is being worked on (or after an hour).
    public static func report(_ id: String, pool: RedisPool, keys: Keys) async throws -> PrivacyReport? {
        guard let text = try await pool.send("GET", keys.privacyReport(id)).string else { return nil }
        return try JSONDecoder().decode(PrivacyReport.self, from: Data(text.utf8))
    }

    static func keep(_ report: PrivacyReport, for id: String, pool: RedisPool, keys: Keys) async throws {
        let text = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        try await pool.send("SET", keys.privacyReport(id), text, "EX", String(kept))
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// A privacy request waiting for its consumer (the identifier it names), an hour at most (a string).
    public func privacyRequest(_ id: String) -> String { named("privacy:request:\(id)") }
    /// A privacy run's report, an hour (a string).
    public func privacyReport(_ id: String) -> String { named("privacy:report:\(id)") }
}
