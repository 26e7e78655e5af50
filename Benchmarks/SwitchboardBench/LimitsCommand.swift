import ArgumentParser
import Foundation
import Limits
import Logging
import Queue
import Redis
import Services

struct LimitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limits",
        abstract: "Measure what the shared service limits cost per call, and the rate they let through.",
        discussion: """
            Cost: --calls calls through the gate (enter and leave, no HTTP) for a service without a limit \
            (no round trip), one with a rate limit too high to hold anyone back, and one with a rate and a \
            concurrency limit; consumer CPU and Redis CPU per call, --concurrency calls at a time. \
            Rate: three replicas (gates with a connection each, as three consumers have) call as fast as \
            they are let through for --seconds at each of 1, 10 and 100 calls/s, and the rate achieved after \
            the burst is set beside the configured one. Keys go under a prefix of their own, deleted afterwards. \
            Build with -c release for meaningful figures.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Redis URL, redis://[user:password@]host:port[/db].", valueName: "url"))
    var redis: String = "redis://127.0.0.1:6379"

    @Option(help: "Calls per cost measurement.")
    var calls: Int = 50_000

    @Option(help: "Calls in flight at once in the cost measurement.")
    var concurrency: Int = 32

    @Option(help: "Seconds each rate is measured for.")
    var seconds: Double = 10

    @Option(help: "How many runs; each figure is printed per run and as the median.")
    var runs: Int = 1

    func validate() throws {
        guard calls >= 1, (1...1000).contains(concurrency), (1...3600).contains(seconds), runs >= 1 else {
            throw ValidationError("--calls and --runs must be at least 1, --concurrency 1-1000, --seconds 1-3600")
        }
    }

    func run() async throws {
        var logger = Logger(label: "switchboard.bench")
        logger.logLevel = .warning
        let endpoint = try RedisEndpoint(url: redis)
        let pool = RedisPool(endpoint: endpoint, size: 1)
        defer { pool.close() }
        print(
            "switchboard bench-limits: \(calls) calls, \(concurrency) at a time, rates over \(seconds) s, redis \(endpoint), \(runs) run(s)"
        )
        var costs: [String: [(worker: Double, redis: Double)]] = [:]
        var rates: [Int: [Double]] = [:]
        let cases: [(String, ServiceLimit)] = [
            ("unlimited", ServiceLimit()),
            ("rate", ServiceLimit(rate: RateLimit(RateLimit.largestCount, per: .second))),
            ("rate+concurrency", ServiceLimit(rate: RateLimit(RateLimit.largestCount, per: .second), concurrency: 100_000)),
        ]
        for run in 1...runs {
            var line: [String] = []
            for (name, limit) in cases {
                let prefix = "bench-limits-\(UUID().uuidString.prefix(8))"
                let gate = SharedServiceGate(pool: pool, keys: Keys(prefix: prefix), limits: ServiceLimits([.groq: limit]), logger: logger)
                let redisBefore = try await RedisUsage.read(pool).cpuSeconds
                let before = ProcessUsage.now().cpuSeconds
                try await Self.hammer(gate, calls: calls, concurrency: concurrency)
                let worker = (ProcessUsage.now().cpuSeconds - before) * 1e6 / Double(calls)
                let redisCost = (try await RedisUsage.read(pool).cpuSeconds - redisBefore) * 1e6 / Double(calls)
                try await Bench.cleanUp(pool: pool, prefix: prefix)
                costs[name, default: []].append((worker, redisCost))
                line.append("\(name) \(String(format: "%.1f", worker)) µs worker + \(String(format: "%.1f", redisCost)) µs redis")
            }
            print("run \(run) cost per call: " + line.joined(separator: "; "))
            var achieved: [String] = []
            for perSecond in [1, 10, 100] {
                let rate = try await Self.achievedRate(endpoint: endpoint, perSecond: perSecond, seconds: seconds, logger: logger)
                rates[perSecond, default: []].append(rate)
                achieved.append(
                    "\(perSecond)/s → \(String(format: "%.2f", rate))/s (\(String(format: "%.1f", rate / Double(perSecond) * 100)) %)")
            }
            print("run \(run) achieved with 3 replicas: " + achieved.joined(separator: ", "))
        }
        if runs > 1 {
            func median(_ values: [Double]) -> Double { Bench.percentile(values, 0.5) ?? 0 }
            print(
                "median cost per call: "
                    + cases.map { name, _ in
                        let values = costs[name] ?? []
                        return
                            "\(name) \(String(format: "%.1f", median(values.map(\.worker)))) µs worker + \(String(format: "%.1f", median(values.map(\.redis)))) µs redis"
                    }.joined(separator: "; "))
            print(
                "median achieved: "
                    + [1, 10, 100].map { "\($0)/s → \(String(format: "%.2f", median(rates[$0] ?? [])))/s" }.joined(separator: ", "))
        }
    }

    static func hammer(_ gate: SharedServiceGate, calls: Int, concurrency: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for _ in stride(from: worker, to: calls, by: concurrency) {
                        let pass = try await gate.enter(.groq, priority: .interactive, lease: .seconds(60))
                        await gate.leave(pass, response: nil)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Calls per second let through after the first burst, with three replicas calling flat out.
    static func achievedRate(endpoint: RedisEndpoint, perSecond: Int, seconds: Double, logger: Logger) async throws -> Double {
        let prefix = "bench-limits-\(UUID().uuidString.prefix(8))"
        let limits = ServiceLimits([.groq: ServiceLimit(rate: RateLimit(perSecond, per: .second))])
        let pools = (0..<3).map { _ in RedisPool(endpoint: endpoint, size: 1) }
        defer { for pool in pools { pool.close() } }
        let gates = pools.map {
            SharedServiceGate(pool: $0, keys: Keys(prefix: prefix), limits: limits, maxWait: { _ in .seconds(3600) }, logger: logger)
        }
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int64(seconds * 1000))
        let granted = await withTaskGroup(of: [ContinuousClock.Instant].self) { group in
            for gate in gates {
                for _ in 0..<8 {
                    group.addTask {
                        var mine: [ContinuousClock.Instant] = []
                        while ContinuousClock.now < deadline {
                            guard let pass = try? await gate.enter(.groq, priority: .interactive, lease: .seconds(60)) else { break }
                            let now = ContinuousClock.now
                            await gate.leave(pass, response: nil)
                            guard now < deadline else { break }
                            mine.append(now)
                        }
                        return mine
                    }
                }
            }
            var all: [ContinuousClock.Instant] = []
            for await mine in group { all += mine }
            return all
        }
        try await Bench.cleanUp(pool: pools[0], prefix: prefix)
        // The first `perSecond` calls are the bucket's burst; the rate is what comes after it.
        let times = granted.sorted()
        guard times.count > perSecond + 1 else { return 0 }
        let steady = times[perSecond...]
        let span = (times.last! - times[perSecond - 1]) / .seconds(1)
        return span > 0 ? Double(steady.count) / span : 0
    }
}
