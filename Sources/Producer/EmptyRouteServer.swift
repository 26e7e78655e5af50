import Hummingbird
import Logging

/// The yardstick of the ingress benchmark: a Hummingbird server whose one route does nothing
/// (it answers 202 with a fixed body), built with the producer's own server configuration, so
/// `bench/ingress.sh` measures what parsing, verifying, deduplicating and enqueuing cost on top
/// of HTTP itself, in the same run and on the same machine.
public enum EmptyRouteServer {
    public static func application(host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.post("/empty") { _, _ in APIResponse.accepted(jobID: "01JEMPTYR0UTEDOESN0THING00") }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "switchboard"), logger: logger)
    }
}
