import Foundation
import Logging
import Queue
import Redis
import Synchronization

/// The benchmark behind `switchboardbench engine`: the real enqueue and consumer paths against a
/// real Redis, with a job body of one INCR (or none), timed from inside the process.
struct Bench {
    /// What each job does: the peers' one `INCR`, or nothing but count itself in the process.
    enum JobBody: String, CustomStringConvertible, Sendable {
        case incr, none
        var description: String { rawValue }
    }

    let endpoint: RedisEndpoint
    let concurrency: Int
    let jobBody: JobBody
    /// What the consumer's outcome scripts keep of each settled job.
    let history: HistoryRetention
    let logger: Logger

    struct Figures {
        var enqueueBatched: Double
        var enqueueSingle: Double?
        var enqueueSingleConcurrent: Double?
        var processed: Double
        var workerMicrosPerJob: Double
        var redisMicrosPerJob: Double
        /// Times the worker's threads went to sleep waiting (voluntary context switches), and
        /// reads Redis served (`total_reads_processed`: about one per round trip), per job. Counts,
        /// not times: a noisy machine moves them far less than the CPU figures, and they say what
        /// a change did to the wake-ups and round trips a job costs.
        var sleepsPerJob: Double
        var redisReadsPerJob: Double
        var latencyP50: Double?
        var latencyP99: Double?
        var peakRSSMB: Double

        var line: String {
            var parts = [
                "enqueue batched \(Self.int(enqueueBatched)) jobs/s",
                "enqueue single \(enqueueSingle.map(Self.int) ?? "-") jobs/s (64 callers: \(enqueueSingleConcurrent.map(Self.int) ?? "-") jobs/s)",
                "process \(Self.int(processed)) jobs/s",
                "worker CPU \(String(format: "%.1f", workerMicrosPerJob)) µs/job",
                "redis CPU \(String(format: "%.1f", redisMicrosPerJob)) µs/job",
                "worker sleeps \(String(format: "%.2f", sleepsPerJob))/job",
                "redis reads \(String(format: "%.3f", redisReadsPerJob))/job",
            ]
            if let latencyP50, let latencyP99 {
                parts.append("latency p50 \(String(format: "%.2f", latencyP50)) ms p99 \(String(format: "%.2f", latencyP99)) ms")
            }
            parts.append("peak RSS \(String(format: "%.1f", peakRSSMB)) MB")
            return parts.joined(separator: ", ")
        }

        static func int(_ value: Double) -> String {
            let text = String(Int(value.rounded()))
            var out = ""
            for (index, character) in text.reversed().enumerated() {
                if index > 0 && index % 3 == 0 { out.append(",") }
                out.append(character)
            }
            return String(out.reversed())
        }

        static func median(_ all: [Figures]) -> Figures {
            func mid(_ values: [Double]) -> Double {
                let sorted = values.sorted()
                return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            }
            func midOptional(_ values: [Double?]) -> Double? {
                let present = values.compactMap { $0 }
                return present.isEmpty ? nil : mid(present)
            }
            return Figures(
                enqueueBatched: mid(all.map(\.enqueueBatched)), enqueueSingle: midOptional(all.map(\.enqueueSingle)),
                enqueueSingleConcurrent: midOptional(all.map(\.enqueueSingleConcurrent)),
                processed: mid(all.map(\.processed)), workerMicrosPerJob: mid(all.map(\.workerMicrosPerJob)),
                redisMicrosPerJob: mid(all.map(\.redisMicrosPerJob)), sleepsPerJob: mid(all.map(\.sleepsPerJob)),
                redisReadsPerJob: mid(all.map(\.redisReadsPerJob)), latencyP50: midOptional(all.map(\.latencyP50)),
                latencyP99: midOptional(all.map(\.latencyP99)), peakRSSMB: mid(all.map(\.peakRSSMB)))
        }
    }

    func measure(jobs: Int, singleJobs: Int, rate: Int, latencySeconds: Double) async throws -> Figures {
        let prefix = "bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let keys = Keys(prefix: prefix)
        let pool = RedisPool(endpoint: endpoint, size: 2, logger: logger)
        defer { pool.close() }
        let broker = Broker(pool: pool, keys: keys, history: history)
        let queue = "bench"
        let counter = "{\(prefix)}:done"

        // 1. Batched enqueue: N envelopes, pipelined in batches of 1000 over two connections.
        let payload = "{\"key\":\"\(counter)\"}"
        let request = JobRequest(queue: queue, kind: "bench", payload: payload, maxAttempts: 3)
        let enqueueStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Four producers, each building and sending its share 1000 envelopes at a time.
            let share = (jobs + 3) / 4
            for start in stride(from: 0, to: jobs, by: share) {
                let count = min(share, jobs - start)
                group.addTask {
                    var sent = 0
                    while sent < count {
                        let batch = min(1000, count - sent)
                        let now = WallClock.unixMilliseconds()
                        try await broker.add((0..<batch).map { _ in request.envelope(now: now) }, to: queue)
                        sent += batch
                    }
                }
            }
            try await group.waitForAll()
        }
        let enqueueBatched = Double(jobs) / Self.seconds(ContinuousClock.now - enqueueStart)

        // 2. Processing: the real consumer drains the queue; the job that makes the counter reach N
        //    marks the end. Rate = (N-1) / (last - first), as the peers' driver computes it.
        let marks = Marks(target: jobs)
        let registry = JobRegistry([Self.benchKind(marks: marks, body: jobBody)])
        let configuration = ConsumerConfiguration(queues: [queue], concurrency: concurrency, gracePeriod: .seconds(5))
        let consumer = StreamConsumer(configuration: configuration, registry: registry, broker: broker, logger: logger)
        let redisBefore = try await RedisUsage.read(pool)
        let before = ProcessUsage.now()
        let rss = RSSSampler()
        async let consuming: Void = consumer.run()
        async let sampling: Void = rss.run()
        await marks.waitUntilDone()
        let after = ProcessUsage.now()
        let redisAfter = try await RedisUsage.read(pool)
        let (first, last) = marks.span
        let processed = Double(jobs - 1) / Self.seconds(last - first)

        // 3. Latency at a steady offered rate, consumer still running.
        var p50: Double?
        var p99: Double?
        if rate > 0 {
            let latencies = try await measureLatency(
                broker: broker, queue: queue, counter: counter, marks: marks, rate: rate, seconds: latencySeconds)
            p50 = Self.percentile(latencies, 0.50)
            p99 = Self.percentile(latencies, 0.99)
        }
        consumer.stop()
        try await consuming
        rss.stop()
        await sampling

        // 4. Single enqueues: one XADD round trip per job on one connection, as a web request does.
        var single: Double?
        var singleConcurrent: Double?
        if singleJobs > 0 {
            let client = RedisPool(endpoint: endpoint, size: 1, logger: logger)
            defer { client.close() }
            let singleBroker = Broker(pool: client, keys: keys)
            let start = ContinuousClock.now
            for _ in 0..<singleJobs { try await singleBroker.add(request.envelope(), to: "bench-single") }
            single = Double(singleJobs) / Self.seconds(ContinuousClock.now - start)

            // The same, from 64 concurrent callers (as concurrent web requests would), still one
            // XADD per job and one connection: the client pipelines what arrives together.
            let concurrentStart = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<64 {
                    group.addTask {
                        for _ in stride(from: caller, to: singleJobs, by: 64) {
                            try await singleBroker.add(request.envelope(), to: "bench-single")
                        }
                    }
                }
                try await group.waitForAll()
            }
            singleConcurrent = Double(singleJobs) / Self.seconds(ContinuousClock.now - concurrentStart)
        }

        try await Self.cleanUp(pool: pool, prefix: prefix)
        return Figures(
            enqueueBatched: enqueueBatched, enqueueSingle: single, enqueueSingleConcurrent: singleConcurrent, processed: processed,
            workerMicrosPerJob: (after.cpuSeconds - before.cpuSeconds) * 1e6 / Double(jobs),
            redisMicrosPerJob: (redisAfter.cpuSeconds - redisBefore.cpuSeconds) * 1e6 / Double(jobs),
            sleepsPerJob: Double(after.sleeps - before.sleeps) / Double(jobs),
            redisReadsPerJob: Double(redisAfter.reads - redisBefore.reads) / Double(jobs),
            latencyP50: p50, latencyP99: p99, peakRSSMB: rss.peakMB)
    }

    /// Offers jobs at `rate` per second for `seconds`, each carrying its enqueue time in µs;
    /// returns each job's wait from enqueue to handler start in milliseconds.
    private func measureLatency(broker: Broker, queue: String, counter: String, marks: Marks, rate: Int, seconds: Double) async throws
        -> [Double]
    {
        let total = max(Int(Double(rate) * seconds), 1)
        marks.expectLatencies(total)
        let interval = Duration.nanoseconds(1_000_000_000 / rate)
        let start = ContinuousClock.now
        try await withThrowingDiscardingTaskGroup { group in
            for index in 0..<total {
                let due = start + interval * index
                if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                group.addTask {
                    let payload = "{\"key\":\"\(counter)\",\"t\":\(WallClock.unixMicroseconds())}"
                    try await broker.add(JobRequest(queue: queue, kind: "bench", payload: payload, maxAttempts: 3).envelope(), to: queue)
                }
            }
        }
        await marks.waitForLatencies()
        return marks.latencies
    }

    struct BenchPayload: Decodable, Sendable {
        var key: String
        var t: UInt64?
    }

    private static func benchKind(marks: Marks, body: JobBody) -> JobDefinition {
        let counted = JobsCounted()
        return JobDefinition(
            kind: "bench", queue: "bench", retry: .exponentialJitter(maxAttempts: 3), timeout: .seconds(30), payload: BenchPayload.self
        ) { payload, context in
            if let sent = payload.t {
                marks.latency(Double(WallClock.unixMicroseconds() &- sent) / 1000)
            }
            let value =
                switch body {
                case .incr: try await context.redis.send("INCR", payload.key).integer ?? 0
                case .none: counted.next()
                }
            if payload.t == nil { marks.reached(value) }
            return .done
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(Int(Double(sorted.count - 1) * p + 0.5), sorted.count - 1)]
    }

    static func cleanUp(pool: RedisPool, prefix: String) async throws {
        var cursor = "0"
        repeat {
            let reply = try await pool.send("SCAN", cursor, "MATCH", "{\(prefix)}:*", "COUNT", "1000")
            guard let parts = reply.array, parts.count == 2 else { return }
            cursor = parts[0].string ?? "0"
            let keys = (parts[1].array ?? []).compactMap(\.string)
            if !keys.isEmpty { _ = try await pool.send(RedisCommand("DEL", keys)) }
        } while cursor != "0"
    }
}

/// The count a job body of `none` keeps instead of Redis's counter.
private final class JobsCounted: Sendable {
    private let count = Atomic<Int>(0)
    func next() -> Int { count.add(1, ordering: .relaxed).newValue }
}

/// When the first and the N-th bench job ran, and the latencies of the latency phase.
final class Marks: Sendable {
    private struct State {
        var first: ContinuousClock.Instant?
        var last: ContinuousClock.Instant?
        var doneWaiter: CheckedContinuation<Void, Never>?
        var latencies: [Double] = []
        var expected = Int.max
        var latencyWaiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    let target: Int

    init(target: Int) {
        self.target = target
    }

    func reached(_ count: Int) {
        let now = ContinuousClock.now
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if count == 1 { state.first = now }
            guard count == target else { return nil }
            state.last = now
            defer { state.doneWaiter = nil }
            return state.doneWaiter
        }
        waiter?.resume()
    }

    var span: (ContinuousClock.Instant, ContinuousClock.Instant) {
        state.withLock { ($0.first ?? .now, $0.last ?? .now) }
    }

    func waitUntilDone() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.last != nil { return true }
                state.doneWaiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }

    func expectLatencies(_ count: Int) {
        state.withLock {
            $0.expected = count; $0.latencies.reserveCapacity(count)
        }
    }

    func latency(_ milliseconds: Double) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.latencies.append(milliseconds)
            guard state.latencies.count >= state.expected else { return nil }
            defer { state.latencyWaiter = nil }
            return state.latencyWaiter
        }
        waiter?.resume()
    }

    var latencies: [Double] { state.withLock { $0.latencies } }

    func waitForLatencies() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.latencies.count >= state.expected { return true }
                state.latencyWaiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }
}

/// Samples this process's resident set size every 50 ms and keeps the peak.
final class RSSSampler: Sendable {
    private let peak = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    var peakMB: Double { Double(peak.load(ordering: .relaxed)) / 1024 }

    func run() async {
        while !stopped.load(ordering: .relaxed) {
            if let kilobytes = Self.currentKilobytes() {
                _ = peak.max(kilobytes, ordering: .relaxed)
            }
            // Cancelled, the sleep would return at once and the loop spin: end it instead.
            do { try await Task.sleep(for: .milliseconds(50)) } catch { return }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    static func currentKilobytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "")
        }
        return nil
    }
}
