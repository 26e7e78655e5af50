import Foundation
import Metrics
import Queue
import Redis

/// What the assistant did with each question, as counters (`switchboard_assistant_answers_total`
/// by audience and outcome), and how much knowledge it has, as gauges: what an operator watches
/// to see whether the knowledge answers guests or people still do the work. The answers are also
/// tallied per day in Redis, which the console's Knowledge page reads (a consumer's counters are
/// its own and reset when it restarts).
public enum AssistantMetrics {
    public enum Outcome: String, CaseIterable, Sendable {
        /// Posted, with knowledge behind it.
        case answered
        /// Posted, with nothing from the knowledge (the model's own words).
        case answeredWithoutKnowledge = "answered_without_knowledge"
        /// Given to people: nothing in the knowledge answers (`HANDOFF_WITHOUT_KNOWLEDGE`).
        case handedOverNoKnowledge = "handed_over_no_knowledge"
        /// Given to people: the guest asked for a person.
        case handedOverAsked = "handed_over_asked"
        /// Not posted: a person has the conversation.
        case silentPersonHasIt = "silent_person_has_it"
        /// Not posted: a person answered first.
        case silentPersonAnswered = "silent_person_answered_first"
    }

    /// Counts `outcome` in this process's counter and in the day's tally in Redis (what the
    /// console shows); a tally Redis does not take is let go — the answer was given either way.
    static func count(_ outcome: Outcome, audience: ChatMessage.Audience?, redis: RedisPool, keys: Keys) async {
        let audience = (audience ?? .guest).rawValue
        Counter(label: "switchboard_assistant_answers_total", dimensions: [("audience", audience), ("outcome", outcome.rawValue)])
            .increment()
        let key = keys.assistantAnswers(day: Self.day(WallClock.unixMilliseconds()))
        _ = try? await redis.pipeline([
            RedisCommand("HINCRBY", [key, "\(audience) \(outcome.rawValue)", "1"]),
            RedisCommand("EXPIRE", [key, String(Self.keptDays * 86_400)]),
        ])
    }

    /// Days a day's tally is kept.
    static let keptDays = 8

    /// The UTC day of a Unix time in milliseconds, `yyyy-mm-dd`.
    static func day(_ milliseconds: UInt64) -> String {
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        return date.formatted(.iso8601.year().month().day().dateSeparator(.dash))
    }

    /// The answers of the last `days` days (today included), as "audience outcome" → count.
    public static func recentAnswers(days: Int = 7, pool: RedisPool, keys: Keys) async throws -> [String: Int] {
        let now = WallClock.unixMilliseconds()
        let replies = try await pool.pipeline(
            (0..<days).map { ago in RedisCommand("HGETALL", [keys.assistantAnswers(day: day(now - UInt64(ago) * 86_400_000))]) })
        var total: [String: Int] = [:]
        for reply in replies {
            for (field, value) in reply.pairs { total[field, default: 0] += value.string.flatMap { Int($0) } ?? 0 }
        }
        return total
    }

    /// Sources, pieces guests can be answered from, and candidates waiting, read from Redis after
    /// each knowledge job (the consumers of the knowledge queue export them).
    static func recordKnowledge(pool: RedisPool, keys: Keys) async {
        guard let sources = try? await KnowledgeSources(pool: pool, keys: keys).all(),
            let waiting = try? await KnowledgeCandidates(pool: pool, keys: keys).waiting()
        else { return }
        Gauge(label: "switchboard_knowledge_sources").record(sources.count)
        Gauge(label: "switchboard_knowledge_pieces").record(sources.reduce(0) { $0 + ($1.livePieces ?? 0) })
        Gauge(label: "switchboard_knowledge_sources_failed").record(sources.filter { $0.state == .failed }.count)
        Gauge(label: "switchboard_knowledge_candidates_waiting").record(waiting)
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// A day's answers of the assistant, "audience outcome" → count (a hash, kept eight days).
    public func assistantAnswers(day: String) -> String { named("assistant:answers:\(day)") }
}
