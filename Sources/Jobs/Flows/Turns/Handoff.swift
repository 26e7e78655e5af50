import Foundation
import Queue
import Redis
import Services

/// Handing a conversation to people: a private note saying why, then the conversation opened
/// (`toggle_status` to `open` — with the agent bot's token Chatwoot runs its bot hand-off), so it
/// shows in the agents' default view. Once per conversation: several messages arriving together, a
/// retried stage, or a dead letter after a guest's request for a person hand it over one time. The
/// mark (`Keys.done("handoff:<account>:<conversation>")`) also keeps the assistant silent there
/// afterwards (`AssistantTurn`) until Chatwoot makes the conversation pending again.
public enum Handoff {
    /// How long a hand-off is remembered: a conversation a person took is theirs for this long
    /// unless Chatwoot gives it back sooner.
    static let lifetime = Duration.seconds(7 * 86_400)

    static func marker(_ keys: Keys, account: Int, conversation: Int) -> String {
        keys.done("handoff:\(account):\(conversation)")
    }

    /// Whether the assistant handed this conversation over.
    public static func isHandedOff(_ services: FlowServices, redis: RedisPool, account: Int, conversation: Int) async throws -> Bool {
        try await redis.send("EXISTS", marker(services.keys, account: account, conversation: conversation)).integer == 1
    }

    /// Whether a hand-off here is complete (its note posted and the conversation opened), not
    /// one under way: only after it may a pending conversation mean Chatwoot gave it back. (A mark
    /// of an older version, a bare time, counts as complete.)
    static func isComplete(_ services: FlowServices, redis: RedisPool, account: Int, conversation: Int) async throws -> Bool {
        guard let mark = try await redis.send("GET", marker(services.keys, account: account, conversation: conversation)).string else { return false }
        return !mark.hasPrefix("handing ")
    }

    /// Forgets the hand-off: Chatwoot gave the conversation back to the assistant.
    static func forget(_ services: FlowServices, redis: RedisPool, account: Int, conversation: Int) async throws {
        try await redis.send("DEL", marker(services.keys, account: account, conversation: conversation))
    }

    /// Hands the conversation over with `reason` in the note, unless it already was; true when
    /// this call did it. A failure undoes the mark, so a retry hands it over.
    @discardableResult
    public static func handOver(_ services: FlowServices, redis: RedisPool, account: Int, conversation: Int, reason: String) async throws -> Bool {
        let key = marker(services.keys, account: account, conversation: conversation)
        // "handing" while the note and the toggle are under way, "done" once both are: another
        // stage that meanwhile finds the conversation still pending must not take that for Chatwoot
        // giving it back (and hand it over a second time).
        let claimed = try await redis.send("SET", key, "handing \(WallClock.unixMilliseconds())", "NX", "PX", String(lifetime.milliseconds))
        guard claimed.string == "OK" else { return false }
        do {
            _ = try await services.chatwoot.postMessage(account: account, conversation: conversation,
                                                        content: "Handed to the team by the assistant: \(reason)", isPrivate: true)
            try await services.chatwoot.toggleStatus(account: account, conversation: conversation, to: "open")
            _ = try? await redis.send("SET", key, "done \(WallClock.unixMilliseconds())", "XX", "PX", String(lifetime.milliseconds))
            return true
        } catch {
            _ = try? await redis.send("DEL", key)
            throw error
        }
    }
}
