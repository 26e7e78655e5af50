import Queue
import Services

/// Posting something into Chatwoot once — the answer to a guest message, a call's note —
/// however often the stage that posts it runs.
///
/// A marker is claimed before posting (`posting:<job>:<attempt>`, expiring after five minutes) and
/// holds the Chatwoot message id after: a second run finds the id and stops, a concurrent one finds
/// the claim and comes back later, and a run that crashed mid-post leaves a claim that expires, so
/// the message is still posted. The one window for a double post is a crash after Chatwoot answered
/// and before the id was written.
enum ReplyOnce {
    /// The answer to Chatwoot message `message` of `account`.
    static func post(_ services: FlowServices, _ context: JobContext, account: Int, message: Int, _ post: () async throws -> Int) async throws {
        try await once(services, context, marker: "reply:\(account):\(message)", what: "the reply to message \(message)", post)
    }

    /// The post that `marker` names (unique per thing posted), described as `what` in errors.
    static func once(_ services: FlowServices, _ context: JobContext, marker name: String, what: String, _ post: () async throws -> Int) async throws {
        let marker = services.keys.done(name)
        let claimed = try await context.redis.send("SET", marker, "posting:\(context.id):\(context.attempt)", "NX", "EX", "300").string == "OK"
        if !claimed {
            let holder = try await context.redis.send("GET", marker).string ?? ""
            if holder.hasPrefix("posting:") {
                throw JobFailure.retryable("\(what) is being posted by another attempt", retryAfter: .seconds(2))
            }
            context.logger.notice("already posted; not posting again", metadata: ["marker": "\(name)", "chatwoot.message": "\(holder)"])
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
