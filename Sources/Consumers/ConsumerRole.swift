import Jobs
import Logging
import Monitoring
import Prometheus
import Queue
import Redis
import ServiceLifecycle

/// `switchboard consumer`: the stream consumer and its monitoring listener as one service group
/// that stops gracefully on SIGTERM or SIGINT (consumer first, then the listener).
public enum ConsumerRole {
    public struct Options: Sendable {
        public var redis: RedisEndpoint
        public var prefix: String
        public var consumer: ConsumerConfiguration
        /// Where `/metrics`, `/healthz` and `/readyz` listen; nil disables the listener.
        public var monitoringPort: Int?
        public var monitoringHost: String
        /// How much settled work each queue's history keeps.
        public var history: HistoryRetention

        public init(
            redis: RedisEndpoint, prefix: String, consumer: ConsumerConfiguration, monitoringPort: Int?, monitoringHost: String = "0.0.0.0",
            history: HistoryRetention = .standard
        ) {
            self.redis = redis
            self.prefix = prefix
            self.consumer = consumer
            self.monitoringPort = monitoringPort
            self.monitoringHost = monitoringHost
            self.history = history
        }
    }

    public static func run(_ options: Options, registry: JobRegistry, metrics: PrometheusCollectorRegistry, logger: Logger) async throws {
        let startUp = StartUpStop()
        let pool = RedisPool(endpoint: options.redis, size: 2, logger: logger)
        defer { pool.close() }
        let consumer = StreamConsumer(
            configuration: options.consumer, registry: registry,
            broker: Broker(pool: pool, keys: Keys(prefix: options.prefix), history: options.history), logger: logger)
        let checks = RedisChecks()
        try await checks.run(pool.client, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        // The queue gauges read on each scrape go on a connection of their own, with a short timeout.
        let gaugePool = RedisPool(endpoint: options.redis, size: 1, commandTimeout: .seconds(2), logger: logger)
        defer { gaugePool.close() }
        if let port = options.monitoringPort {
            let gauges = QueueGaugeExporter(broker: Broker(pool: gaugePool, keys: Keys(prefix: options.prefix)), known: Catalogue.allQueues)
            services.append(
                .init(
                    service: MonitoringServer.make(
                        host: options.monitoringHost, port: port, registry: metrics, redis: pool,
                        checks: checks, refresh: { await gauges.refresh() }, logger: logger)))
        }
        // Started last, stopped first: the listener keeps answering /metrics while jobs drain.
        services.append(.init(service: consumer))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        startUp.handOver(to: group)
        try await group.run()
    }
}
