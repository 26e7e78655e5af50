import ArgumentParser
import Monitoring
import Producer
import Redis
import ServiceLifecycle

/// `switchboardbench baseline`: serves `POST /empty`, a route that does nothing, and with
/// `--redis` `POST /ping`, one Redis round trip, for bench/ingress.sh to measure next to the
/// producer.
struct BaselineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract:
            "Serve POST /empty, a Hummingbird route that does nothing, and with --redis POST /ping, one Redis round trip (the ingress benchmark's yardsticks)."
    )

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port: Int = 8081

    @Option(help: "Redis URL for POST /ping (a pool of two connections, as the producer's).")
    var redis: String?

    func run() async throws {
        let logger = Logs.bootstrap(label: "switchboardbench")
        let pool = try redis.map { RedisPool(endpoint: try RedisEndpoint(url: $0), size: 2, commandTimeout: .seconds(2), logger: logger) }
        defer { pool?.close() }
        let app = EmptyRouteServer.application(host: host, port: port, redis: pool, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
