import Foundation
import Hummingbird
import Jobs
import Logging
import Monitoring
import Prometheus
import Queue
import Redis
import Scheduler
import ServiceLifecycle
import Services

/// `switchboard console`: the web console and its `/metrics` listener as one service group that
/// stops on SIGTERM or SIGINT.
public enum ConsoleRole {
    /// How the console runs and who may use it.
    public struct Options: Sendable {
        public var redis: RedisEndpoint
        public var prefix: String
        public var host: String
        public var port: Int
        /// Where `/metrics`, `/healthz` and `/readyz` listen (the queue gauges); nil: not served.
        public var metricsPort: Int?
        public var schedule: [ScheduleEntry]
        public var settings: ConsoleSettings
        /// Seconds between a live page's refreshes.
        public var refresh: Int

        public init(
            redis: RedisEndpoint, prefix: String, host: String, port: Int, metricsPort: Int?, schedule: [ScheduleEntry],
            settings: ConsoleSettings, refresh: Int = 5
        ) {
            self.redis = redis
            self.prefix = prefix
            self.host = host
            self.port = port
            self.metricsPort = metricsPort
            self.schedule = schedule
            self.settings = settings
            self.refresh = refresh
        }
    }

    public static func run(_ options: Options, metrics: PrometheusCollectorRegistry, logger: Logger) async throws {
        let startUp = StartUpStop()
        let pool = RedisPool(endpoint: options.redis, size: 2, logger: logger)
        defer { pool.close() }
        let keys = Keys(prefix: options.prefix)
        let broker = Broker(pool: pool, keys: keys)
        let checks = RedisChecks()
        try await checks.run(pool.client, logger: logger)
        let settings = options.settings
        if settings.sessionSecret == nil && !settings.local {
            logger.warning(
                "CONSOLE_SESSION_SECRET is not set: sessions are signed with a key of this process, lost when it restarts and not shared with other replicas"
            )
        }
        let access = ConsoleAccess(
            token: settings.token,
            openID: settings.openID.map { OpenIDLogin(settings: $0, http: HTTPClient(connections: 2), logger: logger) },
            seal: SessionSeal(secret: settings.sessionSecret ?? RandomToken.make()), local: settings.local,
            secureCookies: settings.publicURL?.hasPrefix("https://") == true, sessionLifetime: settings.sessionHours * 3600,
            localCSRF: RandomToken.make(),
            throttle: SignInThrottle(), ended: EndedSessions(pool: pool, keys: keys), logger: logger)
        let hostNames = HostCheck.names(listeningOn: options.host, publicURL: settings.publicURL)
        if hostNames == nil {
            logger.notice(
                "CONSOLE_PUBLIC_URL is not set and the console listens on every address: it answers any Host name. Set CONSOLE_PUBLIC_URL to answer only its own."
            )
        }
        let routes = ConsoleRoutes(
            pages: Pages(broker: broker, schedule: options.schedule), access: access, audit: AuditLog(pool: pool, keys: keys),
            publicOrigin: settings.publicURL.flatMap(ConsoleSettings.origin), hostNames: hostNames, refresh: options.refresh,
            knowledgeMaxBytes: settings.knowledgeMaxBytes, logger: logger)
        let app = Application(
            router: routes.router(),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "switchboard-console"),
            logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: Listener(app, serving: "the console", on: options.host, port: options.port))
        ]
        let gaugePool = RedisPool(endpoint: options.redis, size: 1, commandTimeout: .seconds(2), logger: logger)
        defer { gaugePool.close() }
        if let port = options.metricsPort {
            let gauges = QueueGaugeExporter(broker: Broker(pool: gaugePool, keys: keys), known: Catalogue.allQueues)
            services.append(
                .init(
                    service: MonitoringServer.make(
                        host: "0.0.0.0", port: port, registry: metrics, redis: pool, checks: checks,
                        refresh: { await gauges.refresh() }, logger: logger)))
        }
        logger.info(
            "console serving",
            metadata: [
                "address": "\(options.host):\(options.port)",
                "sign-in":
                    "\([settings.openID.map { _ in "openid" }, settings.token.map { _ in "token" }, settings.local ? "none (loopback)" : nil].compactMap { $0 }.joined(separator: ", "))",
            ])
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        startUp.handOver(to: group)
        try await group.run()
    }
}

/// Who may use the console, as the environment configures it: `CONSOLE_TOKEN`, an OpenID
/// provider (`CONSOLE_OIDC_*`), or neither — then only on loopback.
public struct ConsoleSettings: Sendable {
    public var token: String?
    var openID: OpenIDLogin.Settings?
    public var publicURL: String?
    public var sessionSecret: String?
    public var sessionHours: Int
    /// The largest document the Knowledge page takes (`KNOWLEDGE_MAX_BYTES`).
    public var knowledgeMaxBytes = 50_000_000
    /// No sign-in: the console must listen on loopback.
    public var local: Bool { token == nil && openID == nil }

    /// Reads the settings (`setting` resolves `NAME` and `NAME_FILE`); throws naming what is wrong.
    public static func read(host: String, _ setting: (String) throws -> String?) throws -> ConsoleSettings {
        let token = try setting("CONSOLE_TOKEN")
        if let token, token.count < 16 {
            throw ConfigurationError("CONSOLE_TOKEN must be at least 16 characters (it is every operator's password)")
        }
        let publicURL = try setting("CONSOLE_PUBLIC_URL")?.trimmingSuffix("/")
        if let publicURL, origin(publicURL) == nil { throw ConfigurationError("CONSOLE_PUBLIC_URL '\(publicURL)' is not an http(s) URL") }
        var openID: OpenIDLogin.Settings?
        if let issuer = try setting("CONSOLE_OIDC_ISSUER") {
            guard HTTPClient.isWebURL(issuer) else { throw ConfigurationError("CONSOLE_OIDC_ISSUER '\(issuer)' is not an http(s) URL") }
            guard let client = try setting("CONSOLE_OIDC_CLIENT_ID") else {
                throw ConfigurationError("CONSOLE_OIDC_ISSUER needs CONSOLE_OIDC_CLIENT_ID")
            }
            guard let publicURL else {
                throw ConfigurationError("CONSOLE_OIDC_ISSUER needs CONSOLE_PUBLIC_URL (where Keycloak sends the browser back)")
            }
            openID = OpenIDLogin.Settings(
                issuer: issuer, clientID: client, clientSecret: try setting("CONSOLE_OIDC_CLIENT_SECRET"),
                redirectURI: publicURL + "/auth/callback",
                rolesClaim: try setting("CONSOLE_ROLES_CLAIM") ?? "realm_access.roles",
                operatorRole: try setting("CONSOLE_OPERATOR_ROLE") ?? "switchboard-operator",
                viewerRole: try setting("CONSOLE_VIEWER_ROLE") ?? "switchboard-viewer")
        }
        let hours =
            try setting("CONSOLE_SESSION_HOURS").map { text -> Int in
                guard let hours = Int(text), (1...168).contains(hours) else {
                    throw ConfigurationError("CONSOLE_SESSION_HOURS '\(text)' must be 1-168")
                }
                return hours
            } ?? 8
        let secret = try setting("CONSOLE_SESSION_SECRET")
        if let secret, secret.count < 32 { throw ConfigurationError("CONSOLE_SESSION_SECRET must be at least 32 characters") }
        var settings = ConsoleSettings(token: token, openID: openID, publicURL: publicURL, sessionSecret: secret, sessionHours: hours)
        settings.knowledgeMaxBytes = try KnowledgeIntake.maxBytes(try setting("KNOWLEDGE_MAX_BYTES"))
        if settings.local && !["127.0.0.1", "::1", "localhost"].contains(host) {
            throw ConfigurationError(
                "the console refuses to listen on \(host) with no sign-in: set CONSOLE_TOKEN or CONSOLE_OIDC_ISSUER (with CONSOLE_OIDC_CLIENT_ID and CONSOLE_PUBLIC_URL), or listen on 127.0.0.1"
            )
        }
        return settings
    }

    /// `https://host[:port]` of a URL.
    static func origin(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, ["http", "https"].contains(scheme),
            let host = components.host, !host.isEmpty
        else { return nil }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }
}
