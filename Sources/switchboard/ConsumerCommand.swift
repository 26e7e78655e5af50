import ArgumentParser
import Blobs
import Consumers
import Foundation
import Jobs
import Limits
import Metrics
import Monitoring
import Prometheus
import Queue
import Redis
import Services

struct ConsumerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumer",
        abstract: "Run jobs from the queues until SIGTERM or SIGINT.",
        discussion: """
            Any number of consumer processes, on any number of machines, share the work of a queue. \
            On SIGTERM the consumer stops reading, lets jobs in flight finish within --grace-period, and \
            leaves unfinished ones pending for another consumer. Serves /metrics, /healthz and /readyz \
            on --metrics-port. Without --queues it reads the queues of every flow that is configured; \
            naming a queue in --queues requires every setting its stages need, and start-up fails naming \
            the first missing (each setting also as NAME_FILE; 'switchboard flows' lists them). Optional \
            settings: EMBEDDINGS_API_KEY, QDRANT_API_KEY, GROQ_MODEL, GROQ_BASE_URL, CHATWOOT_BOT_TOKEN, \
            AZURE_SPEECH_LANGUAGE, AZURE_SPEECH_VOICE, BLOB_STORE (default ./blobs, shared with the producer), \
            TRIAGE_TEAMS (pre-stay=3,during-stay=4,post-stay=5,inquiry=2). RETRY_CHAT, RETRY_VOICE, RETRY_CALL \
            and RETRY_BOOKING (attempts/base/cap, e.g. 4/2s/20s) change the flows' retry budgets; give the \
            producer the same.
            Stages — \(StageGraph.summary).
            """
    )

    @OptionGroup var redis: RedisOptions

    @Option(help: ArgumentHelp("Comma-separated queues to read (default: every queue of the catalogue).", valueName: "a,b"))
    var queues: String?

    @Option(help: "Jobs in flight at once in this process (1-1000).")
    var concurrency: Int = 10

    @Option(name: .customLong("metrics-port"), help: "Port of /metrics, /healthz and /readyz; 0 turns the listener off.")
    var metricsPort: Int = 9090

    @Option(
        name: .customLong("visibility-timeout"),
        help: ArgumentHelp(
            "Seconds an entry may stay pending before another consumer claims it (default: the longest job timeout of the queue + 30 s).",
            valueName: "seconds"))
    var visibilityTimeout: Double?

    @Option(name: .customLong("poison-limit"), help: "Deliveries without an outcome before an entry is dead-lettered as poison.")
    var poisonLimit: Int = 5

    @Option(name: .customLong("grace-period"), help: ArgumentHelp("Seconds jobs in flight may run after SIGTERM.", valueName: "seconds"))
    var gracePeriod: Double = 25

    @Option(
        name: .customLong("history-entries"),
        help: ArgumentHelp("Settled attempts each queue remembers for 'switchboard trace' (0: none).", valueName: "n"))
    var historyEntries: Int = HistoryRetention.standard.entries

    @Option(name: .customLong("history-age"), help: ArgumentHelp("Hours a settled attempt is remembered.", valueName: "hours"))
    var historyAge: Double = 24

    func validate() throws {
        // Each slot may hold an HTTP transfer on a thread of its own (one curl handle per thread):
        // an unbounded number would start that many threads and exhaust the machine's.
        guard (1...1000).contains(concurrency) else {
            throw ValidationError("--concurrency must be 1-1000 (each slot can hold a thread of its own; run more replicas for more)")
        }
        guard poisonLimit >= 1 else { throw ValidationError("--poison-limit must be at least 1") }
        guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be 0-65535") }
        if let visibilityTimeout {
            guard (0.1...86_400).contains(visibilityTimeout) else {
                throw ValidationError("--visibility-timeout must be 0.1-86400 seconds")
            }
        }
        guard (0...86_400).contains(gracePeriod) else { throw ValidationError("--grace-period must be 0-86400 seconds") }
        guard (0...1_000_000).contains(historyEntries) else { throw ValidationError("--history-entries must be 0-1000000") }
        guard (0.01...8760).contains(historyAge) else { throw ValidationError("--history-age must be 0.01-8760 hours") }
    }

    func run() async throws {
        let logger = Logs.bootstrap()
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let environment = ProcessInfo.processInfo.environment
        let asked = queues?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // A flow runs when its queues are asked for (then its settings must be complete) or,
        // without --queues, when it is configured.
        var flows: FlowServices?
        let blobs: BlobStore?
        let backups: BackupServices?
        let limits: ServiceLimits
        do {
            limits = try ServiceLimits.configured(environment)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        // Every call to an external service passes the deployment's shared limits, held in Redis
        // on a connection of their own.
        let limiterPool = RedisPool(endpoint: try redis.endpoint(), size: 1, commandTimeout: .seconds(2), logger: logger)
        defer { limiterPool.close() }
        let keys = Keys(prefix: redis.keyPrefix)
        let gate = SharedServiceGate(pool: limiterPool, keys: keys, limits: limits, logger: logger)
        let budgets: RetryBudgets
        do {
            budgets = try RetryBudgets(environment: environment)
            flows = try FlowConfiguration.services(
                forQueues: asked, keys: keys,
                http: HTTPClient(connections: concurrency, gate: gate)
            ) {
                try Environment.value($0, environment)
            }
            blobs = try FlowConfiguration.blobStore(forQueues: asked, flows: flows, http: HTTPClient(connections: 2)) {
                try Environment.value($0, environment)
            }
            backups = try BackupServices.configured(
                required: asked?.contains(Backups.queue) ?? false, keys: keys,
                http: HTTPClient(connections: 2, gate: gate)
            ) {
                try Environment.value($0, environment)
            }
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        if backups != nil {
            // Backups pass parts of megabytes through memory. glibc raises its mmap threshold to
            // the largest block freed, after which freed parts stay in the heap instead of going
            // back to the system: a 270 MiB dump peaked at 139 MiB resident, 60 MiB with the
            // threshold held at 1 MiB (dumpbench, docs/performance.md).
            Allocator.mapBlocks(from: 1 << 20)
        }
        flows?.budgets = budgets
        let registry = Catalogue.registry(
            allowCrash: Diagnostics.crashAllowed(environment), flows: flows, blobs: blobs, backups: backups, budgets: budgets)
        let names = asked ?? registry.queues
        // A queue no kind of this build serves would only see its jobs dead-lettered as unknown.
        if let unserved = names.first(where: { !registry.queues.contains($0) }) {
            throw ValidationError(
                "no job kind of this build runs on queue '\(unserved)' (queues: \(registry.queues.joined(separator: ", ")))")
        }
        guard !names.isEmpty else { throw ValidationError("--queues names no queue") }
        let configuration = ConsumerConfiguration(
            queues: names, concurrency: concurrency,
            visibilityTimeout: visibilityTimeout.map { .milliseconds(Int64($0 * 1000)) },
            poisonLimit: poisonLimit, gracePeriod: .milliseconds(Int64(gracePeriod * 1000)))
        try await ConsumerRole.run(
            .init(
                redis: try redis.endpoint(), prefix: redis.keyPrefix, consumer: configuration,
                monitoringPort: metricsPort == 0 ? nil : metricsPort,
                history: HistoryRetention(entries: historyEntries, age: .milliseconds(Int64(historyAge * 3_600_000)))),
            registry: registry, metrics: metrics, logger: logger)
    }
}
