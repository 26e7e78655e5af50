import Blobs
import Foundation
import Queue
import Services

/// What a consumer's flow stages call out to, built once per process from its configuration.
public struct FlowServices: Sendable {
    public var embeddings: EmbeddingsClient
    public var qdrant: QdrantClient
    public var completions: ChatCompletionsClient
    public var chatwoot: ChatwootClient
    /// The instructions every answer starts from.
    public var systemPrompt: String
    /// How many knowledge snippets an answer may draw on, and how close they must be.
    public var contextLimit: Int
    /// How many of the conversation's earlier messages an answer sees.
    public var historyLimit: Int
    public var scoreThreshold: Double?
    /// The deployment's keys, for the markers that keep side effects from repeating.
    public var keys: Keys
    /// For the voice flow: speech in and out, where audio is kept, and a client to fetch audio
    /// attachments from Chatwoot. Without `speech` the voice flow does not run.
    public var speech: AzureSpeechClient?
    public var blobs: BlobStore?
    public var http: HTTPClient?
    /// For the call and booking flows: the Chatwoot account their knowledge and notes belong to
    /// (Aircall and Guesty do not know it). Without it those flows do not run.
    public var account: Int?
    /// The team each stay phase's conversations are assigned to; a phase without one keeps its team.
    public var teams: [StayPhase: Int]
    /// Which conversations the assistant answers in (`ASSISTANT_ANSWERS`).
    public var turn: AssistantTurn
    /// Hand the conversation to people instead of answering when the knowledge has nothing close
    /// enough to the question (`HANDOFF_WITHOUT_KNOWLEDGE=1`).
    public var handOffWithoutKnowledge = false
    /// The retry budgets the operator set (`RETRY_…`), which the attempts of each next stage's job
    /// come from.
    public var budgets = RetryBudgets.defaults
    /// API inboxes whose contacts are all staff (`ASSISTANT_STAFF_INBOX_IDS`): the only places the
    /// team's answers — drawn from private knowledge — are posted in the open.
    public var staffInboxes: Set<Int> = []
    /// Days before check-in a confirmed guest's answers may use their listing's restricted
    /// knowledge (`ASSISTANT_ACCESS_DAYS`).
    public var accessDays = GuestKnowledge.defaultAccessDays
    /// How long a guest's message waits before the assistant answers it, so the team can answer
    /// first (`ASSISTANT_DELAY`, default none).
    public var assistantDelay: Duration = .zero
    /// How long a guest's message may be held back by limits (a model that keeps answering 429)
    /// before the conversation goes to a person (`ASSISTANT_GIVE_UP_AFTER`, each stage of the
    /// guest's flows counted from its own enqueue).
    public var giveUpAfter: Duration = FlowServices.defaultGiveUpAfter
    public static let defaultGiveUpAfter = Duration.seconds(300)
    /// The property's time zone (`TRIAGE_TIME_ZONE`, default UTC): whose calendar day a stay's
    /// phase is decided on.
    public var timeZone: TimeZone = TimeZone(identifier: "UTC")!
    /// How long each kind of personal data is kept (`RETENTION_*`), and whether contacts deleted
    /// in Chatwoot are forgotten (`PRIVACY_FORGET_DELETED_CONTACTS`).
    public var retention = RetentionSettings.defaults

    /// `yyyy-MM-dd` of `now` in the property's time zone.
    public func today(_ now: Date = Date()) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    public init(
        embeddings: EmbeddingsClient, qdrant: QdrantClient, completions: ChatCompletionsClient, chatwoot: ChatwootClient,
        systemPrompt: String, contextLimit: Int = 5, historyLimit: Int = 10, scoreThreshold: Double? = 0.3, keys: Keys,
        speech: AzureSpeechClient? = nil, blobs: BlobStore? = nil, http: HTTPClient? = nil,
        account: Int? = nil, teams: [StayPhase: Int] = [:], turn: AssistantTurn = .unassigned
    ) {
        self.turn = turn
        self.account = account
        self.teams = teams
        self.speech = speech
        self.blobs = blobs
        self.http = http
        self.embeddings = embeddings
        self.qdrant = qdrant
        self.completions = completions
        self.chatwoot = chatwoot
        self.systemPrompt = systemPrompt
        self.contextLimit = contextLimit
        self.historyLimit = historyLimit
        self.scoreThreshold = scoreThreshold
        self.keys = keys
    }
}
