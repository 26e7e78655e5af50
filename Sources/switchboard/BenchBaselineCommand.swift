import ArgumentParser
import Producer
import ServiceLifecycle

/// `switchboard bench-baseline`: serves `POST /empty`, a route that does nothing, for
/// bench/ingress.sh to measure next to the producer. Not for deployments.
struct BenchBaselineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-baseline",
        abstract: "Serve POST /empty, a Hummingbird route that does nothing (the ingress benchmark's yardstick).",
        shouldDisplay: false
    )

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port: Int = 8081

    func run() async throws {
        let logger = Logs.bootstrap()
        let app = EmptyRouteServer.application(host: host, port: port, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
