/// Everything that shapes one consumer process.
public struct ConsumerConfiguration: Sendable {
    /// The queues to read, all with one fetcher.
    public var queues: [String]
    /// Jobs in flight at once across all queues.
    public var concurrency: Int
    /// This process's name in the consumer groups; unique per process.
    public var consumerName: String
    /// How long an entry may stay pending before another consumer claims it. Nil: per queue, the
    /// longest job timeout of its kinds plus `visibilityMargin`.
    public var visibilityTimeout: Duration?
    public var visibilityMargin: Duration
    /// Deliveries without an outcome after which an entry is a poison message and is buried.
    public var poisonLimit: Int
    /// After SIGTERM, how long in-flight jobs may run before they are abandoned (left pending).
    public var gracePeriod: Duration
    /// How often due retries are moved back onto their streams.
    public var promoteInterval: Duration
    /// How long a fetch waits for new entries before it looks around (stop, reclaim) again.
    public var fetchBlock: Duration
    /// Largest payload accepted, in bytes; a larger one is dead-lettered.
    public var maxPayloadBytes: Int
    /// Largest other envelope field accepted, in bytes.
    public var maxFieldBytes: Int
    /// The defaults of the two: what `enqueue` and `dead import` hold a job to, too.
    public static let defaultMaxPayloadBytes = 1 << 20
    public static let defaultMaxFieldBytes = 64 << 10

    public init(
        queues: [String], concurrency: Int = 10, consumerName: String = ConsumerName.make(),
        visibilityTimeout: Duration? = nil, visibilityMargin: Duration = .seconds(30), poisonLimit: Int = 5,
        gracePeriod: Duration = .seconds(25), promoteInterval: Duration = .milliseconds(250),
        fetchBlock: Duration = .seconds(1), maxPayloadBytes: Int = ConsumerConfiguration.defaultMaxPayloadBytes,
        maxFieldBytes: Int = ConsumerConfiguration.defaultMaxFieldBytes
    ) {
        self.queues = queues
        self.concurrency = concurrency
        self.consumerName = consumerName
        self.visibilityTimeout = visibilityTimeout
        self.visibilityMargin = visibilityMargin
        self.poisonLimit = poisonLimit
        self.gracePeriod = gracePeriod
        self.promoteInterval = promoteInterval
        self.fetchBlock = fetchBlock
        self.maxPayloadBytes = maxPayloadBytes
        self.maxFieldBytes = maxFieldBytes
    }

    /// The visibility timeout of `queue` given the registered kinds.
    public func visibilityTimeout(for queue: String, registry: JobRegistry) -> Duration {
        visibilityTimeout ?? registry.longestTimeout(in: queue) + visibilityMargin
    }
}
