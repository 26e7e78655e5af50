import ArgumentParser
import Autoscale
import Foundation
import Jobs
import Logging
import Queue
import Redis
import TestSupport

/// `switchboardbench autoscale`: what one decision interval of `switchboard autoscale` costs — the
/// lease, the Engine's service list, one read of the labelled queues — with the stack's seven
/// labelled services, idle and with `--jobs` waiting, on the Redis given and a Docker Engine that
/// speaks its API on a Unix socket: wall time per interval (median, p99), Redis CPU per interval,
/// Engine calls per interval.
struct AutoscaleBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autoscale",
        abstract: "Measure one decision interval of the autoscaler, idle and under a backlog."
    )

    @Option(name: .long, help: ArgumentHelp("Redis URL.", valueName: "url"))
    var redis: String = "redis://127.0.0.1:6379"

    @Option(help: "Jobs waiting on the retrieve queue in the second round.")
    var jobs: Int = 200_000

    @Option(help: "Intervals per round.")
    var steps: Int = 200

    func validate() throws {
        guard (1...10_000_000).contains(jobs) else { throw ValidationError("--jobs must be 1-10000000") }
        guard (10...100_000).contains(steps) else { throw ValidationError("--steps must be 10-100000") }
    }

    /// The stack's labelled services, as stack.yml has them (at their max: a round measures the
    /// reading and deciding, and the one Engine call a change adds is counted apart).
    static let services: [(String, String, Int, Int, String)] = [
        ("speech", "transcribe,synthesize,voice-reply", 1, 4, "15s"), ("calls", "download,call-transcribe", 0, 2, "5m"),
        ("knowledge", "vectorize,triage,knowledge", 1, 3, "2m"), ("llm", "retrieve,generate", 1, 6, "10s"),
        ("replies", "reply", 1, 4, "10s"), ("maintenance", "blobs", 0, 1, "30m"), ("backups", "backups", 0, 2, "15m"),
    ]

    func run() async throws {
        let pool = RedisPool(endpoint: try RedisEndpoint(url: redis), size: 1)
        defer { pool.close() }
        let keys = Keys(prefix: "bench-autoscale-\(UInt32.random(in: 0...UInt32.max))")
        let broker = Broker(pool: pool, keys: keys)
        let engine = try await FakeDockerEngine(
            Self.services.map { name, queues, min, max, target in
                FakeDockerEngine.Service(
                    name: "sb_\(name)",
                    labels: [
                        "switchboard.autoscale.min": "\(min)", "switchboard.autoscale.max": "\(max)",
                        "switchboard.autoscale.queues": queues,
                        "switchboard.autoscale.target": target, "com.docker.stack.namespace": "sb",
                    ], replicas: max)
            })
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let autoscaler = Autoscaler(
            configuration: .init(name: "bench", namespace: "sb"), broker: broker,
            engine: try DockerEngine(host: "unix://" + engine.socket), known: Catalogue.allQueues, logger: logger)
        for queue in Catalogue.allQueues { try await broker.ensureGroup(queue) }
        print("autoscaler: \(Self.services.count) labelled services, \(steps) intervals per round")
        try await round("idle", autoscaler, engine, pool)
        try await BenchBacklog.fill(pool, stream: keys.stream("retrieve"), jobs: jobs)
        try await round("\(jobs) waiting on retrieve", autoscaler, engine, pool)
        try await BenchBacklog.removeAll(pool, keys: keys)
    }

    private func round(_ title: String, _ autoscaler: Autoscaler, _ engine: FakeDockerEngine, _ pool: RedisPool) async throws {
        let before = try await RedisUsage.read(pool).cpuSeconds
        let calls = engine.requests.count
        let changes = engine.updates.value.count
        let cpuBefore = ProcessUsage.now().cpuSeconds
        var times: [Double] = []
        for _ in 0..<steps {
            let start = ContinuousClock.now
            await autoscaler.step()
            let took = ContinuousClock.now - start
            times.append(Double(took.components.seconds) * 1e3 + Double(took.components.attoseconds) / 1e15)
        }
        let cpuAfter = ProcessUsage.now().cpuSeconds
        let cpu = try await RedisUsage.read(pool).cpuSeconds - before
        times.sort()
        print(
            String(
                format:
                    "  %@: median %.3f ms, p99 %.3f ms per interval; Redis CPU %.0f µs, this process (with the Engine stand-in) %.0f µs per interval; %.1f Engine calls per interval, %d changes",
                title, times[times.count / 2], times[min(times.count - 1, times.count * 99 / 100)], cpu * 1e6 / Double(steps),
                (cpuAfter - cpuBefore) * 1e6 / Double(steps), Double(engine.requests.count - calls) / Double(steps),
                engine.updates.value.count - changes))
    }
}
