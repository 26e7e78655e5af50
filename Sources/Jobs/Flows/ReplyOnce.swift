import Queue
import Services

/// Posting the answer to a guest message once, however often the reply stage runs.
///
/// A marker is claimed before posting (`posting:<job>:<attempt>`, expiring after five minutes) and
/// holds the Chatwoot message id after: a second run finds the id and stops, a concurrent one finds
/// the claim and comes back later, and a run that crashed mid-post leaves a claim that expires, so
/// the reply is still posted. The one window for a double reply is a crash after Chatwoot answered
/// and before the id was written.
enum ReplyOnce {
    static func post(_ services: FlowServices, _ context: JobContext, account: Int, message: Int, _ post: () async throws -> Int) async throws {
        let marker = services.keys.done("reply:\(account):\(message)")
        let claimed = try await context.redis.send("SET", marker, "posting:\(context.id):\(context.attempt)", "NX", "EX", "300").string == "OK"
        if !claimed {
            let holder = try await context.redis.send("GET", marker).string ?? ""
            if holder.hasPrefix("posting:") {
                throw JobFailure.retryable("the reply to message \(message) is being posted by another attempt", retryAfter: .seconds(2))
            }
            context.logger.notice("reply already posted; not posting again", metadata: ["chatwoot.message": "\(holder)"])
            return
        }
        let posted: Int
        do {
            posted = try await calling(post)
        } catch {
            _ = try? await context.redis.send("DEL", marker)
            throw error
        }
        try await context.redis.send("SET", marker, String(posted), "EX", String(7 * 86_400))
    }
}
