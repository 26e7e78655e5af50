import Crypto
import Foundation
import Queue
import Redis
import Services

/// Posting something into Chatwoot once — the answer to a guest message, a call's note —
/// however often, and however badly, the stage that posts it runs.
///
/// A marker (`SideEffects`) is claimed before posting (`posting:<job>:<unix ms>`) and holds the
/// Chatwoot message id after. A second run finds the id and stops. A run that finds a claim asks
/// whether the attempt behind it is over — it is when the claim is its own job's (attempts of one
/// job never overlap) or older than any post can take — and then whether that attempt reached
/// Chatwoot, by looking for the message itself among the conversation's latest (same text, same
/// kind, created since the claim). Found: its id is recorded and nothing is posted. Not found: the
/// claim is taken over (compare-and-set, so two runs cannot both) and the message posted. An attempt
/// that Chatwoot answered with a refusal gives its claim up at once, so the retry posts directly.
///
/// So a crash between the claim and the post, or a timeout in the middle of it, neither loses the
/// message nor posts it twice. The window that remains: an earlier attempt's message that the
/// conversation's latest page no longer shows (twenty newer messages since), or that cannot be
/// looked for at all (a token that may not read the conversation, which is logged) — then it is
/// posted again, as at-least-once requires.
enum ReplyOnce {
    /// The thing posted and how to recognise it in the conversation.
    struct Post {
        /// Unique per thing posted.
        var marker: String
        /// How errors name it.
        var what: String
        var account: Int
        var conversation: Int
        var content: String
        var isPrivate: Bool
    }

    /// How long a marker is kept, claim or result: longer than any retry budget.
    static let lifetime = Duration.seconds(7 * 86_400)
    /// Longer than a post can take (Chatwoot's client times out after 15 s): a claim this old
    /// belongs to an attempt that is over, however it ended.
    static let postWindow: Duration = .seconds(60)

    /// How a public post is known among a conversation's messages before its id is: `text:` and
    /// the SHA-256 of its trimmed text.
    static func fingerprint(_ content: String) -> String {
        "text:"
            + SHA256.hash(data: Array(content.trimmingCharacters(in: .whitespacesAndNewlines).utf8)).prefix(12)
            .map { String(format: "%02x", $0) }.joined()
    }

    /// The mark of the answer to Chatwoot message `message`.
    static func replyMarker(account: Int, message: Int) -> String { "reply:\(account):\(message)" }

    /// The answer to Chatwoot message `message`.
    static func reply(
        _ services: FlowServices, _ context: JobContext, account: Int, conversation: Int, message: Int, content: String,
        isPrivate: Bool = false, _ send: () async throws -> Int
    ) async throws {
        let post = Post(
            marker: replyMarker(account: account, message: message), what: "the reply to message \(message)", account: account,
            conversation: conversation, content: content, isPrivate: isPrivate)
        try await once(services, context, post, send)
    }

    static func once(_ services: FlowServices, _ context: JobContext, _ post: Post, _ send: () async throws -> Int) async throws {
        let marks = SideEffects(pool: context.redis, keys: services.keys)
        let now = WallClock.unixMilliseconds()
        let claim = "posting:\(context.id):\(now)"
        if let holder = try await marks.claim(post.marker, with: claim, lifetime: lifetime) {
            guard let earlier = Claim(holder) else {
                context.logger.notice(
                    "already posted; not posting again", metadata: ["marker": "\(post.marker)", "chatwoot.message": "\(holder)"])
                return
            }
            let age = Duration.milliseconds(Int64(WallClock.millisecondsSince(earlier.at, now: now)))
            if earlier.job != context.id && age < postWindow {
                throw JobFailure.retryable("\(post.what) is being posted by another job", retryAfter: min(.seconds(2), postWindow - age))
            }
            if let found = await posted(post, since: earlier.at, services: services, context: context) {
                _ = try await marks.complete(post.marker, expected: holder, with: String(found), lifetime: lifetime)
                context.logger.notice(
                    "an earlier attempt had posted it; not posting again",
                    metadata: ["marker": "\(post.marker)", "chatwoot.message": "\(found)"])
                return
            }
            guard try await marks.complete(post.marker, expected: holder, with: claim, lifetime: lifetime) else {
                throw JobFailure.retryable("\(post.what) is being posted by another attempt", retryAfter: .seconds(2))
            }
        }
        let posted = services.keys.postedPublicly(account: post.account, conversation: post.conversation)
        if !post.isPrivate {
            // Known as ours before Chatwoot shows it: another answer's check for a person who
            // answered first, running at this very moment, must not take it for a person's.
            _ = try await context.redis.pipeline([
                RedisCommand("SADD", [posted, fingerprint(post.content)]),
                RedisCommand("EXPIRE", [posted, String(lifetime.components.seconds)]),
            ])
        }
        let id: Int
        do {
            id = try await send()
        } catch let failure as HTTPFailure {
            if let status = failure.status, (400..<500).contains(status), !failure.isRetryable {
                // Chatwoot answered and created nothing: the next attempt may post straight away.
                try? await marks.release(post.marker, ifHolding: claim)
            }
            throw failure
        }
        _ = try await marks.complete(post.marker, expected: claim, with: String(id), lifetime: lifetime)
        if !post.isPrivate {
            _ = try? await context.redis.send(RedisCommand("SADD", [posted, String(id)]))
        }
        context.logger.info("posted to Chatwoot", metadata: ["marker": "\(post.marker)", "chatwoot.message": "\(id)"])
    }

    /// The id of the message an earlier attempt posted, if the conversation shows it; nil when it
    /// does not or cannot be read.
    static func posted(_ post: Post, since claimedAt: UInt64, services: FlowServices, context: JobContext) async -> Int? {
        do {
            let latest = try await services.chatwoot.messages(account: post.account, conversation: post.conversation)
            let since = Int(claimedAt / 1000) - 5
            let content = post.content.trimmingCharacters(in: .whitespacesAndNewlines)
            return latest.last { message in
                message.messageType == .outgoing && message.isPrivate == post.isPrivate && (message.createdAt ?? Int.max) >= since
                    && (message.content ?? "").trimmingCharacters(in: .whitespacesAndNewlines) == content
            }?.id
        } catch {
            context.logger.warning(
                "cannot tell whether an earlier attempt posted; posting (it may show twice)",
                metadata: ["marker": "\(post.marker)", "error": "\(error)"])
            return nil
        }
    }

    /// `posting:<job id>:<unix ms>`, as claimed.
    struct Claim {
        var job: String
        var at: UInt64

        init?(_ text: String) {
            let parts = text.split(separator: ":")
            guard parts.count >= 3, parts[0] == "posting", let at = UInt64(parts[parts.count - 1]) else { return nil }
            job = parts[1..<(parts.count - 1)].joined(separator: ":")
            self.at = at
        }
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// The public messages Switchboard posted in a conversation, by id and by `ReplyOnce.fingerprint`
    /// (written before the post), a set kept 7 days.
    public func postedPublicly(account: Int, conversation: Int) -> String { named("posted:\(account):\(conversation)") }
}
