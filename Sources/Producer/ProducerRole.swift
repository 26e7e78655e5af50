import Blobs
import Hummingbird
import HummingbirdCore
import Logging
import Monitoring
import NIOCore
import Prometheus
import Queue
import Redis
import ServiceLifecycle

/// `switchboard producer`: the HTTP ingress as a service. On SIGTERM or SIGINT it stops accepting
/// connections and lets requests in flight finish (each answers only once Redis has its job or
/// has refused it), then closes its Redis connections. Whatever clients do — a body half sent, a
/// connection held open — it exits within the grace period: past it, requests still in flight are
/// cancelled, and their connections closed.
///
/// What one client can hold is bounded: connections idle past `idleTimeout` are closed, a request
/// must arrive whole within `requestTimeout`, a refusal before the body was read closes the
/// connection rather than draining it, and at most `maxConnections` are served at once.
public enum ProducerRole {
    /// Builds the application: checks the configuration (a malformed secret, an unwritable blob
    /// store) and fails with a message naming the variable before anything listens.
    /// `onListening` receives the port once the server listens (the one it chose, for port 0).
    public static func application(
        _ configuration: ProducerConfiguration, pool: RedisPool, metrics: PrometheusCollectorRegistry,
        checks: RedisChecks = RedisChecks(), drain: DrainState = DrainState(),
        logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let blobs = try BlobStore(location: configuration.blobStore, s3: configuration.blobS3)
        let ingress = Ingress(
            broker: Broker(pool: pool, keys: Keys(prefix: configuration.prefix)),
            dedupeTTL: configuration.dedupeTTL, highWater: configuration.highWater, redisWait: configuration.redisWait,
            budgets: configuration.budgets)
        let routes = try ProducerRoutes(configuration: configuration, ingress: ingress, blobs: blobs, checks: checks, drain: drain)
        logger.info("producer routes", metadata: ["routes": "\(routes.served.joined(separator: " "))"])
        if configuration.chatwootSecret?.isEmpty != false, configuration.chatwootBotSecret?.isEmpty != false {
            logger.warning("neither CHATWOOT_WEBHOOK_SECRET nor CHATWOOT_BOT_SECRET is set: /webhooks/chatwoot accepts unsigned deliveries")
        }
        let readTimeout = TimeAmount.nanoseconds(configuration.requestTimeout.nanoseconds)
        let http = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestReadGuard(readTimeout: readTimeout)],
            idleTimeout: .nanoseconds(configuration.idleTimeout.nanoseconds))
        return Application(
            router: routes.router(metrics: metrics),
            server: .http1(configuration: http),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "switchboard",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }

    public static func run(_ configuration: ProducerConfiguration, metrics: PrometheusCollectorRegistry, logger: Logger) async throws {
        let startUp = StartUpStop()
        // Short command timeouts: a sender waits on this answer (Aircall gives up after 5 s).
        let pool = RedisPool(endpoint: configuration.redis, size: 2, commandTimeout: .seconds(2), logger: logger)
        defer { pool.close() }
        let checks = RedisChecks()
        let drain = DrainState()
        let app = try application(configuration, pool: pool, metrics: metrics, checks: checks, drain: drain, logger: logger)
        try await checks.run(pool.client, logger: logger)
        let listener = Listener(app, serving: "the webhook routes", on: configuration.host, port: configuration.port)
        var serving = ServiceGroupConfiguration(services: [listener], logger: logger)
        serving.maximumGracefulShutdownDuration = configuration.gracePeriod
        serving.maximumCancellationDuration = .seconds(5)
        let server = DrainingServer(
            server: ServiceGroup(configuration: serving), delay: configuration.drainDelay, state: drain, logger: logger)
        var group = ServiceGroupConfiguration(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.drainDelay + configuration.gracePeriod + .seconds(1)
        group.maximumCancellationDuration = .seconds(5)
        let running = ServiceGroup(configuration: group)
        startUp.handOver(to: running)
        try await running.run()
    }
}
