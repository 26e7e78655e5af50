import Logging
import Monitoring
import Prometheus
import Queue
import Redis
import ServiceLifecycle
import Services

/// `switchboard autoscale`: the autoscaler and its monitoring listener as one service group that
/// stops on SIGTERM or SIGINT, giving the lease up so another replica decides at once.
public enum AutoscaleRole {
    public static func run(
        redis: RedisEndpoint, prefix: String, configuration: Autoscaler.Configuration, engine: DockerEngine, known: [String],
        monitoringPort: Int?, metrics: PrometheusCollectorRegistry, logger: Logger
    ) async throws {
        let startUp = StartUpStop()
        let pool = RedisPool(endpoint: redis, size: 1, logger: logger)
        defer { pool.close() }
        let checks = RedisChecks()
        try await checks.run(pool.client, logger: logger)
        let autoscaler = Autoscaler(
            configuration: configuration, broker: Broker(pool: pool, keys: Keys(prefix: prefix)), engine: engine, known: known,
            logger: logger)
        let rules = try await startingRules(autoscaler, logger: logger)
        logger.info(
            "autoscaler started",
            metadata: [
                "replica": "\(configuration.name)", "engine": "\(engine.host)",
                "services":
                    "\(rules.map { "\($0.service) (\($0.minimum)-\($0.maximum), \($0.queues.joined(separator: ",")), target \($0.target / 1000) s)" }.joined(separator: "; "))",
                "dry-run": "\(configuration.dryRun)",
            ])
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let port = monitoringPort {
            services.append(
                .init(
                    service: MonitoringServer.make(
                        host: "0.0.0.0", port: port, registry: metrics, redis: pool, checks: checks, refresh: {}, logger: logger)))
        }
        services.append(.init(service: autoscaler))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        startUp.handOver(to: group)
        try await group.run()
    }

    /// The rules at start: the Engine waited for up to a minute (it may be restarting with the
    /// node); labels that are wrong refused at once, naming the service.
    static func startingRules(_ autoscaler: Autoscaler, logger: Logger) async throws -> [ScalingRules] {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                return try await autoscaler.check()
            } catch let wrong as ScalingRulesError {
                throw ConfigurationError("the autoscaling labels of \(wrong.description)")
            } catch {
                guard ContinuousClock.now < deadline else {
                    throw ConfigurationError("the Docker Engine at \(autoscaler.engine.host) did not answer within 60 s: \(error)")
                }
                logger.warning("waiting for the Docker Engine", metadata: ["engine": "\(autoscaler.engine.host)", "error": "\(error)"])
                try await Task.sleep(for: .seconds(5))
            }
        }
    }
}
