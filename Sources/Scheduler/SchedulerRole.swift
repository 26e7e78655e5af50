import Logging
import Monitoring
import Prometheus
import Queue
import Redis
import ServiceLifecycle

/// `switchboard scheduler`: the scheduler service and its monitoring listener as one service group
/// that stops on SIGTERM or SIGINT, giving the leader lease up so another replica takes over at once.
public enum SchedulerRole {
    public static func run(redis: RedisEndpoint, prefix: String, configuration: SchedulerService.Configuration,
                           monitoringPort: Int?, metrics: PrometheusCollectorRegistry, logger: Logger) async throws {
        let pool = RedisPool(endpoint: redis, size: 1, logger: logger)
        defer { pool.close() }
        let scheduler = SchedulerService(configuration: configuration, broker: Broker(pool: pool, keys: Keys(prefix: prefix)), logger: logger)
        let checks = RedisChecks()
        try await checks.run(pool.client, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let port = monitoringPort {
            services.append(.init(service: MonitoringServer.make(host: "0.0.0.0", port: port, registry: metrics, redis: pool, checks: checks, logger: logger)))
        }
        services.append(.init(service: scheduler))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
