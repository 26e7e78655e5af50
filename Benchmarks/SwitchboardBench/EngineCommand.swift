import ArgumentParser
import Foundation
import Logging
import Queue
import Redis

struct EngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Measure enqueue and processing throughput, latency and memory against a Redis.",
        discussion: """
            Enqueues --jobs jobs in pipelined batches, then drains them with the real consumer code path \
            (every job acknowledged and deleted). The job body is one INCR on Redis, the same as the \
            peers' benchmark (../shared/bench). Also measures single enqueues (one round trip each) and \
            end-to-end latency (enqueue to handler start) at a steady --rate. Keys go under a prefix of \
            their own, deleted afterwards. Build with -c release for meaningful figures.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Redis URL, redis://[user:password@]host:port[/db].", valueName: "url"))
    var redis: String = "redis://127.0.0.1:6379"

    @Option(help: "Jobs per run.")
    var jobs: Int = 200_000

    @Option(help: "Jobs in flight in the consumer.")
    var concurrency: Int = 200

    @Option(help: "How many runs; each figure is printed per run and as the median.")
    var runs: Int = 1

    @Option(name: .customLong("single-jobs"), help: "Jobs for the single-enqueue measurement (0 skips it).")
    var singleJobs: Int = 20_000

    @Option(help: "Jobs per second offered in the latency measurement (0 skips it).")
    var rate: Int = 5_000

    @Option(name: .customLong("latency-seconds"), help: "Duration of the latency measurement.")
    var latencySeconds: Double = 3

    @Option(name: .customLong("history-entries"), help: "Settled attempts the queue's history keeps, as the consumer's option (0: none).")
    var historyEntries: Int = HistoryRetention.standard.entries

    @Option(
        name: .customLong("job-body"),
        help:
            "incr: each job INCRs a counter in Redis (the peers' job); none: it only counts itself in the process, so the figures are the engine's own (fetch, acknowledge, history, a task per job)."
    )
    var jobBody: Bench.JobBody = .incr

    func validate() throws {
        guard jobs >= 2, concurrency >= 1, runs >= 1, singleJobs >= 0, rate >= 0 else {
            throw ValidationError("--jobs must be at least 2; --concurrency and --runs at least 1; --single-jobs and --rate not negative")
        }
        guard (0...3600).contains(latencySeconds) else { throw ValidationError("--latency-seconds must be 0-3600") }
        guard (0...1_000_000).contains(historyEntries) else { throw ValidationError("--history-entries must be 0-1000000") }
    }

    func run() async throws {
        var logger = Logger(label: "switchboard.bench")
        logger.logLevel = .warning
        let endpoint = try RedisEndpoint(url: redis)
        let bench = Bench(
            endpoint: endpoint, concurrency: concurrency, jobBody: jobBody,
            history: HistoryRetention(entries: historyEntries, age: HistoryRetention.standard.age),
            logger: logger)
        print(
            "switchboard bench: \(jobs) jobs, concurrency \(concurrency), job body \(jobBody), history \(historyEntries), redis \(endpoint), \(runs) run(s)"
        )
        var results: [Bench.Figures] = []
        for run in 1...runs {
            let figures = try await bench.measure(jobs: jobs, singleJobs: singleJobs, rate: rate, latencySeconds: latencySeconds)
            print("run \(run): \(figures.line)")
            results.append(figures)
        }
        if runs > 1 { print("median: \(Bench.Figures.median(results).line)") }
    }
}

extension Bench.JobBody: ExpressibleByArgument {}
