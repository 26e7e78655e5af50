import ArgumentParser
import Blobs
import Foundation
import Jobs
import Metrics
import Monitoring
import Producer
import Prometheus
import Services

struct ProducerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "producer",
        abstract: "Serve the webhook and voice-upload routes until SIGTERM or SIGINT.",
        discussion: """
            Routes: POST /webhooks/chatwoot (always; signed when CHATWOOT_WEBHOOK_SECRET is set), \
            POST /webhooks/aircall (with AIRCALL_WEBHOOK_TOKEN), POST /webhooks/guesty (with \
            GUESTY_WEBHOOK_SECRET, whsec_…), POST /voice (with VOICE_UPLOAD_TOKEN), GET /healthz, \
            /readyz and /metrics. Each secret can also come from a file, NAME_FILE. Uploaded audio is \
            kept in BLOB_STORE (file:///path, default ./blobs; or s3://bucket/prefix with BLOB_S3_ENDPOINT, \
            BLOB_S3_REGION, BLOB_S3_ACCESS_KEY_ID, BLOB_S3_SECRET_ACCESS_KEY). The flows' retry budgets \
            (RETRY_CHAT, RETRY_VOICE, RETRY_CALL, RETRY_BOOKING as attempts/base/cap) fix each job's attempts. A job is answered 202 only once Redis \
            has it; a repeated delivery gets 200 and the first job's id; Redis down or a queue above \
            --high-water gets 503 with Retry-After.
            """
    )

    @OptionGroup var redis: RedisOptions

    @Option(help: "Address to listen on.")
    var host: String = "0.0.0.0"

    @Option(help: "Port to listen on (default: PORT, else 8080).")
    var port: Int?

    @Option(name: .customLong("json-limit"), help: ArgumentHelp("Largest JSON body accepted, in bytes.", valueName: "bytes"))
    var jsonLimit: Int = 1 << 20

    @Option(name: .customLong("audio-limit"), help: ArgumentHelp("Largest audio upload accepted, in bytes.", valueName: "bytes"))
    var audioLimit: Int = 25 << 20

    @Option(
        name: .customLong("high-water"),
        help: ArgumentHelp("Queue length at which deliveries get 503 + Retry-After; 0 for none.", valueName: "jobs"))
    var highWater: Int = 100_000

    @Option(name: .customLong("dedupe-hours"), help: ArgumentHelp("How long a delivery's dedupe key is kept.", valueName: "hours"))
    var dedupeHours: Int = 72

    @Flag(name: .customLong("log-ignored"), help: "Log deliveries that start no work at info level (otherwise debug).")
    var logIgnored = false

    @Option(
        name: .customLong("idle-timeout"),
        help: ArgumentHelp("Seconds a connection may sit idle (no request in progress) before it is closed.", valueName: "seconds"))
    var idleTimeout: Double = 120

    @Option(
        name: .customLong("request-timeout"),
        help: ArgumentHelp("Seconds a request (head and body) may take to arrive before its connection is closed.", valueName: "seconds"))
    var requestTimeout: Double = 60

    @Option(
        name: .customLong("max-connections"),
        help: ArgumentHelp("Connections served at once; more wait in the listen backlog.", valueName: "count"))
    var maxConnections: Int = 4096

    @Option(
        name: .customLong("grace-period"),
        help: ArgumentHelp("Seconds requests in flight may take after SIGTERM before they are cut off.", valueName: "seconds"))
    var gracePeriod: Double = 10

    @Option(
        name: .customLong("redis-wait"),
        help: ArgumentHelp(
            "Seconds a delivery waits for an unreachable Redis (a restart, a failover), its enqueue tried again, before it is answered 503 (0: at once). Only deliveries safe to repeat are tried again.",
            valueName: "seconds"))
    var redisWait: Double = 3

    @Option(
        name: .customLong("drain-delay"),
        help: ArgumentHelp(
            "Seconds the producer goes on accepting after SIGTERM (/readyz says draining) before it stops, while the load balancer notices.",
            valueName: "seconds"))
    var drainDelay: Double = 0

    func validate() throws {
        if let port { guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535") } }
        guard jsonLimit >= 1024 else { throw ValidationError("--json-limit must be at least 1024") }
        guard audioLimit >= 1024 else { throw ValidationError("--audio-limit must be at least 1024") }
        guard highWater >= 0 else { throw ValidationError("--high-water must be 0 or more") }
        guard dedupeHours >= 24 else { throw ValidationError("--dedupe-hours must be at least 24 (senders retry for a day and more)") }
        guard (0.1...86_400).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 0.1-86400 seconds") }
        guard (0.1...86_400).contains(requestTimeout) else { throw ValidationError("--request-timeout must be 0.1-86400 seconds") }
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be 1-1000000") }
        guard (0...3600).contains(gracePeriod) else { throw ValidationError("--grace-period must be 0-3600 seconds") }
        guard (0...600).contains(drainDelay) else { throw ValidationError("--drain-delay must be 0-600 seconds") }
        guard (0...60).contains(redisWait) else { throw ValidationError("--redis-wait must be 0-60 seconds") }
    }

    func run() async throws {
        let logger = Logs.bootstrap()
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let environment = ProcessInfo.processInfo.environment
        let listenPort: Int
        if let port {
            listenPort = port
        } else if let text = environment["PORT"], !text.isEmpty {
            guard let value = Int(text), (1...65535).contains(value) else { throw ValidationError("PORT '\(text)' is not a port number") }
            listenPort = value
        } else {
            listenPort = 8080
        }
        let blobS3: S3Settings?
        let assistantTurn: AssistantTurn
        let assistantInboxes: Set<Int>
        let staffInboxes: Set<Int>
        let assistantHandle: String
        let budgets: RetryBudgets
        do {
            // The flows' retry budgets fix each job's attempts when it is enqueued.
            budgets = try RetryBudgets(environment: environment)
            blobS3 = try S3Settings.from { try Environment.value($0, environment) }
            assistantTurn = try AssistantTurn.configured(try Environment.value("ASSISTANT_ANSWERS", environment))
            assistantInboxes = try FlowConfiguration.inboxIDs(
                "ASSISTANT_INBOX_IDS", try Environment.value("ASSISTANT_INBOX_IDS", environment))
            staffInboxes = try FlowConfiguration.inboxIDs(
                "ASSISTANT_STAFF_INBOX_IDS", try Environment.value("ASSISTANT_STAFF_INBOX_IDS", environment))
            assistantHandle = try Environment.value("ASSISTANT_HANDLE", environment) ?? "@assistant"
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        var configuration = ProducerConfiguration(
            redis: try redis.endpoint(), prefix: redis.keyPrefix, host: host, port: listenPort,
            aircallToken: try Environment.value("AIRCALL_WEBHOOK_TOKEN", environment),
            guestySecret: try Environment.value("GUESTY_WEBHOOK_SECRET", environment),
            chatwootSecret: try Environment.chatwootSecret(environment),
            voiceUploadToken: try Environment.value("VOICE_UPLOAD_TOKEN", environment),
            chatwootBotSecret: try Environment.chatwootSecret(environment, name: "CHATWOOT_BOT_SECRET"), assistantTurn: assistantTurn,
            blobStore: environment["BLOB_STORE"].flatMap { $0.isEmpty ? nil : $0 } ?? "blobs", blobS3: blobS3,
            jsonLimit: jsonLimit, audioLimit: audioLimit, dedupeTTL: .seconds(dedupeHours * 3600),
            highWater: highWater, logIgnored: logIgnored,
            idleTimeout: .seconds(idleTimeout), requestTimeout: .seconds(requestTimeout), maxConnections: maxConnections,
            gracePeriod: .seconds(gracePeriod), drainDelay: .seconds(drainDelay))
        configuration.redisWait = .seconds(redisWait)
        configuration.assistantInboxes = assistantInboxes
        configuration.staffInboxes = staffInboxes
        configuration.budgets = budgets
        configuration.assistantHandle = assistantHandle
        if configuration.chatwootSecret == nil && configuration.chatwootBotSecret == nil {
            // Unsigned, anyone can post a "message" naming a team inbox or an agent's note, and
            // the team's answers draw on private knowledge (call transcripts, bookings).
            let handleSet = (try Environment.value("ASSISTANT_HANDLE", environment)) != nil
            let named = [
                ("ASSISTANT_INBOX_IDS", !assistantInboxes.isEmpty), ("ASSISTANT_STAFF_INBOX_IDS", !staffInboxes.isEmpty),
                ("ASSISTANT_HANDLE", handleSet),
            ].first { $0.1 }?.0
            if let named {
                throw ValidationError(
                    """
                    \(named) is set but Chatwoot's deliveries are not signed \
                    (no CHATWOOT_WEBHOOK_SECRET or CHATWOOT_BOT_SECRET): anyone could ask the team's assistant and read what only the \
                    team may. Set the webhook's secret, or unset it.
                    """)
            }
            // Nor is an unsigned note taken as an agent's question.
            configuration.assistantHandle = ""
        }
        DescriptorLimit.check(needed: maxConnections, logger: logger)
        do {
            try await ProducerRole.run(configuration, metrics: metrics, logger: logger)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}
