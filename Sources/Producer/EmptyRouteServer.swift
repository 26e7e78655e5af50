import Hummingbird
import Logging
import Redis

/// The yardsticks of the ingress benchmark: a Hummingbird server whose `/empty` route does nothing
/// (it answers 202 with a fixed body), built with the producer's own server configuration, so
/// `bench/ingress.sh` measures what parsing, verifying, deduplicating and enqueuing cost on top
/// of HTTP itself, in the same run and on the same machine. Given a Redis, `/ping` answers the
/// same after one `PING` round trip through a pool like the producer's: the least any route that
/// answers only once Redis has the job can cost.
public enum EmptyRouteServer {
    public static func application(host: String, port: Int, redis: RedisPool? = nil, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        // Built per request, as the producer builds its own answers.
        let jobID = "01JEMPTYR0UTEDOESN0THING00"
        router.post("/empty") { _, _ in APIResponse.accepted(jobID: jobID) }
        if let redis {
            router.post("/ping") { _, _ in
                _ = try await redis.send("PING")
                return APIResponse.accepted(jobID: jobID)
            }
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "switchboard"), logger: logger)
    }
}
