import Blobs
import Jobs
import Redis

/// Everything `switchboard producer` is configured with. Each webhook route is served only when
/// its credential is set (`/webhooks/chatwoot` always: Chatwoot before v4.11.2 signs nothing);
/// a route without one answers 404, so nothing is ever accepted unauthenticated by accident.
public struct ProducerConfiguration: Sendable {
    public var redis: RedisEndpoint
    public var prefix: String
    public var host: String
    public var port: Int
    public var aircallToken: String?
    public var guestySecret: String?
    public var chatwootSecret: String?
    /// The agent bot's own signing secret (`CHATWOOT_BOT_SECRET`): a delivery signed with either is taken.
    public var chatwootBotSecret: String?
    public var voiceUploadToken: String?
    /// Which conversations' messages the assistant answers (`ASSISTANT_ANSWERS`): the others are
    /// acknowledged and dropped at once.
    public var assistantTurn: AssistantTurn
    /// Team inboxes (`ASSISTANT_INBOX_IDS`): a Chatwoot user's message there is the team asking
    /// the assistant, answered with a private note.
    public var assistantInboxes: Set<Int> = []
    /// Staff inboxes (`ASSISTANT_STAFF_INBOX_IDS`): API inboxes whose contacts are all staff; a
    /// contact's message there is the team asking, answered in the open.
    public var staffInboxes: Set<Int> = []
    /// The operator's retry budgets (`RETRY_…`): each job's attempts are fixed at its enqueue.
    public var budgets = RetryBudgets.defaults
    /// What starts an agent's private note to the assistant (`ASSISTANT_HANDLE`).
    public var assistantHandle = "@assistant"
    /// `BLOB_STORE`: where uploaded audio is kept (`file:///path`).
    public var blobStore: String
    /// The S3-API store behind an `s3://` `BLOB_STORE`.
    public var blobS3: S3Settings?
    /// Largest JSON body accepted (413 above).
    public var jsonLimit: Int
    /// Largest audio upload accepted (413 above).
    public var audioLimit: Int
    /// How long a dedupe key is remembered: longer than any sender retries (Svix: about 28 h).
    public var dedupeTTL: Duration
    /// Queue depth at which deliveries are refused with 503 + Retry-After (0: never).
    public var highWater: Int
    /// `Retry-After` when Redis is unreachable.
    public var unavailableRetryAfter: Int
    /// How long a delivery waits for an unreachable Redis (a restart, a failover), its enqueue
    /// tried again, before it is answered `unavailableRetryAfter`: some senders (Chatwoot's
    /// account webhooks) never send a delivery twice. Zero answers at once.
    public var redisWait: Duration = .seconds(3)
    /// `Retry-After` when a queue is at its high-water mark.
    public var fullRetryAfter: Int
    /// Log every acknowledged-and-dropped delivery at info (otherwise debug).
    public var logIgnored: Bool
    /// A connection with no request in progress (keep-alive, or opened and silent) is closed after
    /// this long. Longer than Traefik's 90 s keep-alive with its backends, so the proxy is the one
    /// that closes a connection it may reuse.
    public var idleTimeout: Duration
    /// A request must arrive whole (head and body) within this long, or its connection is closed.
    public var requestTimeout: Duration
    /// Connections served at once; above it, new ones wait in the listen backlog until one closes.
    public var maxConnections: Int
    /// After SIGTERM, how long requests in flight may take before they are cut off.
    public var gracePeriod: Duration
    /// After SIGTERM, how long the producer goes on accepting before it starts to stop (while the
    /// load balancer notices the task is going away).
    public var drainDelay: Duration

    public init(
        redis: RedisEndpoint, prefix: String = "switchboard", host: String = "0.0.0.0", port: Int = 8080,
        aircallToken: String? = nil, guestySecret: String? = nil, chatwootSecret: String? = nil, voiceUploadToken: String? = nil,
        chatwootBotSecret: String? = nil, assistantTurn: AssistantTurn = .unassigned, blobStore: String = "blobs",
        blobS3: S3Settings? = nil, jsonLimit: Int = 1 << 20, audioLimit: Int = 25 << 20,
        dedupeTTL: Duration = .seconds(72 * 3600), highWater: Int = 100_000,
        unavailableRetryAfter: Int = 5, fullRetryAfter: Int = 30, logIgnored: Bool = false,
        idleTimeout: Duration = .seconds(120), requestTimeout: Duration = .seconds(60), maxConnections: Int = 4096,
        gracePeriod: Duration = .seconds(10), drainDelay: Duration = .zero
    ) {
        self.redis = redis
        self.prefix = prefix
        self.host = host
        self.port = port
        self.aircallToken = aircallToken
        self.guestySecret = guestySecret
        self.chatwootSecret = chatwootSecret
        self.voiceUploadToken = voiceUploadToken
        self.assistantTurn = assistantTurn
        self.chatwootBotSecret = chatwootBotSecret
        self.blobStore = blobStore
        self.blobS3 = blobS3
        self.jsonLimit = jsonLimit
        self.audioLimit = audioLimit
        self.dedupeTTL = dedupeTTL
        self.highWater = highWater
        self.unavailableRetryAfter = unavailableRetryAfter
        self.fullRetryAfter = fullRetryAfter
        self.logIgnored = logIgnored
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
        self.gracePeriod = gracePeriod
        self.drainDelay = drainDelay
    }
}
