import ArgumentParser
import Foundation
import Jobs
import Queue
import Redis

/// `switchboardbench gauges`: what one read of the queue gauges costs (the read every scrape of
/// `/metrics` makes), with no backlog and with `--jobs` waiting, on the Redis given: wall time per
/// read (median, p99) and Redis CPU per read. Uses keys under a prefix of its own and deletes them.
struct GaugesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gauges",
        abstract: "Measure one read of every queue's Prometheus gauges, without and with a large backlog."
    )

    @Option(name: .long, help: ArgumentHelp("Redis URL.", valueName: "url"))
    var redis: String = "redis://127.0.0.1:6379"

    @Option(help: "Jobs waiting on one queue in the second round.")
    var jobs: Int = 200_000

    @Option(help: "Reads per round.")
    var reads: Int = 200

    func validate() throws {
        guard (1...10_000_000).contains(jobs) else { throw ValidationError("--jobs must be 1-10000000") }
        guard (10...100_000).contains(reads) else { throw ValidationError("--reads must be 10-100000") }
    }

    func run() async throws {
        let pool = RedisPool(endpoint: try RedisEndpoint(url: redis), size: 1)
        defer { pool.close() }
        let keys = Keys(prefix: "bench-gauges-\(UInt32.random(in: 0...UInt32.max))")
        let broker = Broker(pool: pool, keys: keys)
        let queues = Catalogue.allQueues
        for queue in queues { try await broker.ensureGroup(queue) }
        let inspector = Inspector(broker: broker)
        print("queue gauges: \(queues.count) queues, \(reads) reads per round")
        try await round("no backlog", inspector, queues, pool)
        try await BenchBacklog.fill(pool, stream: keys.stream(queues[0]), jobs: jobs)
        try await round("\(jobs) waiting on \(queues[0])", inspector, queues, pool)
        try await BenchBacklog.removeAll(pool, keys: keys)
    }

    private func round(_ title: String, _ inspector: Inspector, _ queues: [String], _ pool: RedisPool) async throws {
        let before = try await RedisUsage.read(pool).cpuSeconds
        var times: [Double] = []
        for _ in 0..<reads {
            let start = ContinuousClock.now
            _ = try await inspector.gauges(queues)
            let took = ContinuousClock.now - start
            times.append(Double(took.components.seconds) * 1e3 + Double(took.components.attoseconds) / 1e15)
        }
        let cpu = try await RedisUsage.read(pool).cpuSeconds - before
        times.sort()
        print(
            String(
                format: "  %@: median %.3f ms, p99 %.3f ms per read; Redis CPU %.0f µs per read", title,
                times[times.count / 2], times[min(times.count - 1, times.count * 99 / 100)], cpu * 1e6 / Double(reads)))
    }
}
