import Foundation
import Logging
import Redis
import TestSupport

@testable import Queue

/// A real Redis, a pool, a broker under a prefix of the test's own, and helpers to run consumers
/// in-process and read back what the engine wrote.
struct Harness {
    let server: RedisServer
    let pool: RedisPool
    let broker: Broker
    let keys: Keys

    init(server: RedisServer? = nil, prefix: String = #function, history: HistoryRetention = .standard) async throws {
        if let server { self.server = server } else { self.server = try await RedisServer() }
        pool = RedisPool(endpoint: self.server.endpoint, size: 2)
        keys = Keys(prefix: prefix.filter { $0.isLetter || $0.isNumber })
        broker = Broker(pool: pool, keys: keys, history: history)
    }

    /// The queue's history records, oldest first.
    func history(_ queue: String = "q") async throws -> [FinishedJob] {
        StreamEntry.list(try await pool.send("XRANGE", keys.history(queue), "-", "+")).compactMap { FinishedJob(entry: $0, queue: queue) }
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }

    func consumer(
        _ registry: JobRegistry, queues: [String] = ["q"], concurrency: Int = 8, name: String = ConsumerName.make(),
        visibilityTimeout: Duration? = nil, poisonLimit: Int = 5, grace: Duration = .seconds(10),
        promoteInterval: Duration = .milliseconds(50), fetchBlock: Duration = .milliseconds(200),
        logger: Logger = Harness.logger
    ) -> StreamConsumer {
        let configuration = ConsumerConfiguration(
            queues: queues, concurrency: concurrency, consumerName: name, visibilityTimeout: visibilityTimeout,
            poisonLimit: poisonLimit, gracePeriod: grace, promoteInterval: promoteInterval, fetchBlock: fetchBlock)
        return StreamConsumer(configuration: configuration, registry: registry, broker: broker, logger: logger)
    }

    /// Runs the consumers while `body` runs, then stops them and waits until they have returned.
    func running<T: Sendable>(_ consumers: [StreamConsumer], _ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for consumer in consumers { group.addTask { try await consumer.run() } }
            do {
                let result = try await body()
                for consumer in consumers { consumer.stop() }
                try await group.waitForAll()
                return result
            } catch {
                for consumer in consumers { consumer.stop() }
                try await group.waitForAll()
                throw error
            }
        }
    }

    func enqueue(_ kind: String, _ payload: String = "{}", queue: String = "q", maxAttempts: Int = 3) async throws -> Envelope {
        let envelope = JobRequest(queue: queue, kind: kind, payload: payload, maxAttempts: maxAttempts).envelope()
        try await broker.add(envelope, to: queue)
        return envelope
    }

    func length(_ queue: String = "q") async throws -> Int { try await pool.send("XLEN", keys.stream(queue)).integer ?? -1 }
    func deadCount(_ queue: String = "q") async throws -> Int { try await pool.send("XLEN", keys.dead(queue)).integer ?? -1 }
    func delayedCount(_ queue: String = "q") async throws -> Int { try await pool.send("ZCARD", keys.delayed(queue)).integer ?? -1 }
    func info(_ queue: String = "q") async throws -> Inspector.QueueInfo { try await Inspector(broker: broker).info(queue) }

    /// The queue's dead letters, oldest first.
    func deadLetters(_ queue: String = "q") async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        try await DeadLetters(broker: broker).forEachPage(.init(queue: queue)) { letters += $0.compactMap(\.letter) }
        return letters
    }

    /// How often each job id ran, as recorded by `TestKinds.recorded`.
    func runs() async throws -> [String: Int] {
        try await pool.send("HGETALL", runsKey).integerHash
    }

    var runsKey: String { "{\(keys.prefix)}:runs" }
}

/// Job kinds the engine tests define for themselves.
enum TestKinds {
    struct Sleep: Decodable, Sendable { var ms: Int? }

    /// Sleeps `ms` (if given), then counts the run under the job id in the harness's runs hash.
    static func recorded(
        _ kind: String = "recorded", runsKey: String, timeout: Duration = .seconds(30),
        retry: RetryPolicy = .exponentialJitter(maxAttempts: 3)
    ) -> JobDefinition {
        JobDefinition(kind: kind, queue: "q", retry: retry, timeout: timeout, payload: Sleep.self) { payload, context in
            if let ms = payload.ms { try await Task.sleep(for: .milliseconds(ms)) }
            try await context.redis.send("HINCRBY", runsKey, context.id, "1")
            return .done
        }
    }

    /// Fails with the given failure on every attempt, recording attempts.
    static func failing(_ kind: String, runsKey: String, failure: JobFailure, retry: RetryPolicy) -> JobDefinition {
        JobDefinition(kind: kind, queue: "q", retry: retry, timeout: .seconds(10), payload: Sleep.self) { _, context in
            try await context.redis.send("HINCRBY", runsKey, context.id, "1")
            throw failure
        }
    }
}
