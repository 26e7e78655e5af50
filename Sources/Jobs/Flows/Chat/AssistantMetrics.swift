import Metrics
import Queue
import Redis

/// What the assistant did with each question, as counters (`switchboard_assistant_answers_total`
/// by audience and outcome), and how much knowledge it has, as gauges: what an operator watches
/// to see whether the knowledge answers guests or people still do the work.
enum AssistantMetrics {
    enum Outcome: String {
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

    static func count(_ outcome: Outcome, audience: ChatMessage.Audience?) {
        Counter(
            label: "switchboard_assistant_answers_total",
            dimensions: [("audience", (audience ?? .guest).rawValue), ("outcome", outcome.rawValue)]
        ).increment()
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
