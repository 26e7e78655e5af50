import Hummingbird
import Logging
import Prometheus
import Redis
import ServiceLifecycle

/// The small HTTP listener the consumer and the scheduler run for their operators: `/metrics` (Prometheus text),
/// `/healthz` (the process is up) and `/readyz` (Redis answers a PING; the body says what a crash of
/// Redis would lose). `refresh` runs before each scrape is answered: the gauges read from Redis.
public enum MonitoringServer {
    public static func make(
        host: String, port: Int, registry: PrometheusCollectorRegistry, redis: RedisPool, checks: RedisChecks,
        refresh: @escaping @Sendable () async -> Void = {}, logger: Logger
    ) -> some Service {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            await refresh()
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16 << 10)
            registry.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            do {
                _ = try await redis.send("PING")
                let durability = checks.durability.map { "durability \($0)\n" } ?? ""
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ready\n" + durability)))
            } catch {
                return Response(status: .serviceUnavailable, body: ResponseBody(byteBuffer: ByteBuffer(string: "redis unreachable\n")))
            }
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "switchboard"), logger: logger)
        return Listener(app, serving: "/metrics, /healthz and /readyz", on: host, port: port)
    }
}
