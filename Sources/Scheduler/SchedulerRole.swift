import Jobs
import Logging
import Monitoring
import Prometheus
import Queue
import Redis
import ServiceLifecycle

/// `switchboard scheduler`: the scheduler service and its monitoring listener as one service group
/// that stops on SIGTERM or SIGINT, giving the leader lease up so another replica takes over at once.
public enum SchedulerRole {
    public static func run(
        redis: RedisEndpoint, prefix: String, configuration: SchedulerService.Configuration,
        monitoringPort: Int?, metrics: PrometheusCollectorRegistry, logger: Logger
    ) async throws {
        let startUp = StartUpStop()
        let pool = RedisPool(endpoint: redis, size: 1, logger: logger)
        defer { pool.close() }
        let scheduler = SchedulerService(
            configuration: configuration, broker: Broker(pool: pool, keys: Keys(prefix: prefix)), logger: logger)
        let checks = RedisChecks()
        try await checks.run(pool.client, logger: logger)
        // The gauges read on each scrape go on a connection of their own, with a short timeout.
        let gaugePool = RedisPool(endpoint: redis, size: 1, commandTimeout: .seconds(2), logger: logger)
        defer { gaugePool.close() }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let port = monitoringPort {
            let keys = Keys(prefix: prefix)
            let queues = QueueGaugeExporter(broker: Broker(pool: gaugePool, keys: keys), known: Catalogue.allQueues)
            let schedules = ScheduleGauges(
                entries: configuration.entries, pool: gaugePool, keys: keys, catchUp: configuration.catchUp, now: configuration.now)
            services.append(
                .init(
                    service: MonitoringServer.make(
                        host: "0.0.0.0", port: port, registry: metrics, redis: pool, checks: checks,
                        refresh: {
                            await queues.refresh(); await schedules.refresh()
                        }, logger: logger)))
        }
        services.append(.init(service: scheduler))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        startUp.handOver(to: group)
        try await group.run()
    }
}
