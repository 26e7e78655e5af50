import Foundation
import Queue
import Redis
import Services

/// Handing a conversation to people: a private note saying why, then the conversation opened
/// (`toggle_status` to `open` — with the agent bot's token Chatwoot runs its bot hand-off), so it
/// shows in the agents' default view. Once per conversation: several messages arriving together, a
/// retried stage, or a dead letter after a guest's request for a person hand it over one time. The
/// mark (`SideEffects`, `handoff:<account>:<conversation>`) also keeps the assistant silent there
/// afterwards (`AssistantTurn`) until Chatwoot makes the conversation pending again.
public enum Handoff {
    /// How long a hand-off is remembered: a conversation a person took is theirs for this long
    /// unless Chatwoot gives it back sooner.
    static let lifetime = Duration.seconds(7 * 86_400)

    static func marker(account: Int, conversation: Int) -> String { "handoff:\(account):\(conversation)" }

    static func marks(_ services: FlowServices, _ redis: RedisPool) -> SideEffects { SideEffects(pool: redis, keys: services.keys) }

    /// Whether the assistant handed this conversation over.
    public static func isHandedOff(_ services: FlowServices, redis: RedisPool, account: Int, conversation: Int) async throws -> Bool {
        try await marks(services, redis).read(marker(account: account, conversation: conversation)) != nil
    }

    /// Whether a hand-off here is complete (its note posted and the conversation opened), not
    /// one under way: only after it may a pending conversation mean Chatwoot gave it back. (A mark
    /// of an older version, a bare time, counts as complete.)
    static func isComplete(_ services: FlowServices, redis: RedisPool, account: Int, conversation: Int) async throws -> Bool {
        guard let mark = try await marks(services, redis).read(marker(account: account, conversation: conversation)) else { return false }
        return !mark.hasPrefix("handing ")
    }

    /// Forgets the hand-off: Chatwoot gave the conversation back to the assistant.
    static func forget(_ services: FlowServices, redis: RedisPool, account: Int, conversation: Int) async throws {
        try await marks(services, redis).forget(marker(account: account, conversation: conversation))
    }

    /// Hands the conversation over with `reason` in the note, unless it already was; true when
    /// this call did it. A failure undoes the mark, so a retry hands it over.
    @discardableResult
    public static func handOver(_ services: FlowServices, redis: RedisPool, account: Int, conversation: Int, reason: String) async throws
        -> Bool
    {
        let marks = marks(services, redis)
        let name = marker(account: account, conversation: conversation)
        // "handing" while the note and the toggle are under way, "done" once both are: another
        // stage that meanwhile finds the conversation still pending must not take that for Chatwoot
        // giving it back (and hand it over a second time).
        let claim = "handing \(WallClock.unixMilliseconds())"
        guard try await marks.claim(name, with: claim, lifetime: lifetime) == nil else { return false }
        do {
            _ = try await services.chatwoot.postMessage(
                account: account, conversation: conversation,
                content: "Handed to the team by the assistant: \(reason)", isPrivate: true)
            try await services.chatwoot.toggleStatus(account: account, conversation: conversation, to: "open")
            _ = try? await marks.complete(name, expected: claim, with: "done \(WallClock.unixMilliseconds())", lifetime: lifetime)
            return true
        } catch {
            try? await marks.release(name, ifHolding: claim)
            throw error
        }
    }
}
