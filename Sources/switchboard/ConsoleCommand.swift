import ArgumentParser
import Console
import Foundation
import Metrics
import Monitoring
import Prometheus
import Redis
import Scheduler
import Services

struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Serve the web console: queues, dead letters, schedules, traces, consumers, the stage graph and the audit of actions.",
        discussion: """
            Sign-in: OpenID Connect against Keycloak (CONSOLE_OIDC_ISSUER, e.g. https://sso.example.com/realms/hosting; \
            CONSOLE_OIDC_CLIENT_ID; [CONSOLE_OIDC_CLIENT_SECRET]; CONSOLE_PUBLIC_URL, the console's own https URL, whose \
            /auth/callback is the client's redirect URI; [CONSOLE_ROLES_CLAIM], default realm_access.roles; \
            [CONSOLE_OPERATOR_ROLE], default switchboard-operator; [CONSOLE_VIEWER_ROLE], default switchboard-viewer), \
            and/or a static admin token (CONSOLE_TOKEN, at least 16 characters), typed into the sign-in page or sent by \
            scripts as Authorization: Bearer. Viewers see; operators pause and resume queues, retry and drop dead \
            letters and run schedule entries, each action written to the audit. CONSOLE_SESSION_SECRET (at least 32 \
            characters) signs the session cookies; give every replica the same. CONSOLE_SESSION_HOURS (default 8). \
            Each setting also as NAME_FILE. Without any sign-in the console only listens on 127.0.0.1.
            """
    )

    @OptionGroup var redis: RedisOptions

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port of the console.")
    var port: Int = 8081

    @Option(name: .customLong("metrics-port"), help: "Port of /metrics (the queue gauges), /healthz and /readyz; 0 turns the listener off.")
    var metricsPort: Int = 0

    @Option(
        help: ArgumentHelp(
            "The schedule file whose entries the console shows and runs (default: SCHEDULE_FILE; none: no schedules).", valueName: "path"))
    var schedule: String?

    @Option(help: "Seconds between a live page's refreshes (2-300).")
    var refresh: Int = 5

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535") }
        guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be 0-65535") }
        guard (2...300).contains(refresh) else { throw ValidationError("--refresh must be 2-300 seconds") }
    }

    func run() async throws {
        let logger = Logs.bootstrap()
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let environment = ProcessInfo.processInfo.environment
        let settings: ConsoleSettings
        do {
            settings = try ConsoleSettings.read(host: host) { try Environment.value($0, environment) }
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let path = schedule ?? environment["SCHEDULE_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let entries = try path.map { try ScheduleFileOptions.load($0).entries } ?? []
        try await ConsoleRole.run(
            .init(
                redis: try redis.endpoint(), prefix: redis.keyPrefix, host: host, port: port,
                metricsPort: metricsPort == 0 ? nil : metricsPort,
                schedule: entries, settings: settings, refresh: refresh),
            metrics: metrics, logger: logger)
    }
}
