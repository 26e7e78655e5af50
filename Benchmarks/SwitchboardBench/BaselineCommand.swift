import ArgumentParser
import Monitoring
import Producer
import ServiceLifecycle

/// `switchboardbench baseline`: serves `POST /empty`, a route that does nothing, for
/// bench/ingress.sh to measure next to the producer.
struct BaselineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Serve POST /empty, a Hummingbird route that does nothing (the ingress benchmark's yardstick)."
    )

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port: Int = 8081

    func run() async throws {
        let logger = Logs.bootstrap(label: "switchboardbench")
        let app = EmptyRouteServer.application(host: host, port: port, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
