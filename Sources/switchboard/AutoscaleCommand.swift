import ArgumentParser
import Autoscale
import Foundation
import Jobs
import Metrics
import Monitoring
import Prometheus
import Queue
import Redis
import Services

struct AutoscaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autoscale",
        abstract: "Scale the consumer services on Swarm by each queue's own latency target, until SIGTERM or SIGINT.",
        discussion: """
            Each service says what it may do in its labels (deploy.labels in stack.yml): \
            switchboard.autoscale.min and .max (replicas; min 0 lets it sleep until work arrives), .queues (the \
            queues it serves, comma-separated), .target (how long its oldest waiting job may wait: 10s, 5m) and \
            [.cooldown] (how long idle before it is scaled down, default 5m). Up as soon as the oldest waiting job \
            passes its target, in proportion to the backlog and the rate measured per replica; down to min after \
            the cool-down once idle. One replica decides at a time (a lease). Speaks the Docker Engine API at \
            DOCKER_HOST (default unix:///var/run/docker.sock; tcp://host:port for a socket proxy), so it runs on \
            a manager. --status prints the last decisions and exits.
            """
    )

    @OptionGroup var redis: RedisOptions

    @Option(help: ArgumentHelp("Seconds between decisions (2-300).", valueName: "seconds"))
    var interval: Int = 10

    @Option(
        help: ArgumentHelp("Seconds of the decision-maker's lease; a dead one is replaced after at most this long.", valueName: "seconds"))
    var lease: Int = 30

    @Option(help: "Only the services of this stack (its namespace); default: every labelled service the Engine lists.")
    var stack: String?

    @Option(
        name: .customLong("engine-timeout"),
        help: ArgumentHelp("Seconds the Docker Engine is waited for on each call (1-120).", valueName: "seconds"))
    var engineTimeout: Int = 10

    @Flag(name: .customLong("dry-run"), help: "Decide and log, change nothing.")
    var dryRun = false

    @Flag(help: "Print the last decisions (as the running autoscaler recorded them) and exit.")
    var status = false

    @Option(name: .customLong("metrics-port"), help: "Port of /metrics, /healthz and /readyz; 0 turns the listener off.")
    var metricsPort: Int = 9090

    func validate() throws {
        guard (2...300).contains(interval) else { throw ValidationError("--interval must be 2-300 seconds") }
        guard (3...3600).contains(lease), lease > interval else {
            throw ValidationError("--lease must be 3-3600 seconds and longer than --interval")
        }
        guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be 0-65535") }
        guard (1...120).contains(engineTimeout) else { throw ValidationError("--engine-timeout must be 1-120 seconds") }
    }

    func run() async throws {
        if status {
            try await printStatus()
            return
        }
        let logger = Logs.bootstrap()
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let engine: DockerEngine
        do {
            engine = try DockerEngine(
                host: try Environment.value("DOCKER_HOST", ProcessInfo.processInfo.environment), timeout: .seconds(engineTimeout))
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let configuration = Autoscaler.Configuration(
            name: ConsumerName.make(), interval: .seconds(interval), lease: .seconds(lease), namespace: stack, dryRun: dryRun)
        do {
            try await AutoscaleRole.run(
                redis: try redis.endpoint(), prefix: redis.keyPrefix, configuration: configuration, engine: engine,
                known: Catalogue.allQueues, monitoringPort: metricsPort == 0 ? nil : metricsPort, metrics: metrics, logger: logger)
        } catch let error as ConfigurationError {
            Terminal.error(error.description)
            throw ExitCode(2)
        }
    }

    func printStatus() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let snapshot = try await RedisFailure.exitOnFailure {
            try await AutoscaleState(pool: pool, keys: Keys(prefix: redis.keyPrefix)).latest()
        }
        guard let snapshot else {
            print("no autoscaler has decided lately: is `switchboard autoscale` running?")
            throw ExitCode(1)
        }
        let age = Double(WallClock.unixMilliseconds() &- snapshot.at) / 1000
        print("decided by \(Terminal.visible(snapshot.by)) \(String(format: "%.0f", age)) s ago")
        let rows =
            [["SERVICE", "REPLICAS", "WANTED", "MIN-MAX", "WAITING", "OLDEST", "REASON", "QUEUES"]]
            + snapshot.services.map { service in
                [
                    service.service, String(service.current), String(service.wanted), "\(service.minimum)-\(service.maximum)",
                    String(service.waiting), "\(service.oldestWaiting / 1000) s", service.reason, service.queues.joined(separator: ","),
                ]
            }
        print(Table.render(rows) { _, _, _ in nil }, terminator: "")
    }
}
