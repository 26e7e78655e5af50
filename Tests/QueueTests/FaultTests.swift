import Foundation
import Redis
import Synchronization
import TestSupport
import Testing

@testable import Queue

/// The engine against what Redis and time do to it: error replies around a restart or a failover,
/// replies lost after Redis acted, a handler finishing at its deadline, a retry set holding
/// something that is not an envelope, a consumer stopping while stale entries wait.
@Suite struct FaultTests {
    /// A job kind that waits at a gate the test opens, then gives `result`.
    static func gated(
        _ kind: String, gate: LockedValue<Bool>, started: LockedValue<Int>, result: @escaping @Sendable () throws -> JobResult
    ) -> JobDefinition {
        JobDefinition(
            kind: kind, queue: "q", retry: .exponentialJitter(maxAttempts: 3, base: .seconds(60)), timeout: .seconds(30),
            payload: TestKinds.Sleep.self
        ) { _, _ in
            started.withLock { $0 += 1 }
            while !gate.value { try await Task.sleep(for: .milliseconds(10)) }
            return try result()
        }
    }

    /// The error code Redis answers `command` with, or nil when it runs it.
    static func refusal(of command: RedisCommand, on client: RedisClient) async -> String? {
        do {
            _ = try await client.send(command)
            return nil
        } catch let error as RedisError {
            return error.serverCode
        } catch {
            return nil
        }
    }

    /// Redis answers BUSY while a long script runs: the outcome of a job that finished meanwhile is
    /// written once Redis takes commands again, not dropped for a whole visibility timeout.
    @Test func anOutcomeMetByBUSYIsWrittenWhenRedisIsBack() async throws {
        let h = try await Harness()
        _ = try await h.server.command("CONFIG", "SET", "busy-reply-threshold", "100")
        let gate = LockedValue(false)
        let started = LockedValue(0)
        let kind = Self.gated("flaky", gate: gate, started: started) { throw JobFailure.retryable("upstream down") }
        let log = LogCapture()
        let consumer = h.consumer(
            JobRegistry([kind]), visibilityTimeout: .seconds(120), promoteInterval: .seconds(3600), logger: log.logger)
        try await h.running([consumer]) {
            _ = try await h.enqueue("flaky")
            #expect(await eventually { started.value == 1 })
            let stall = h.server.stall(for: .seconds(2), busy: true)
            let probe = RedisClient(endpoint: h.server.endpoint, commandTimeout: .seconds(5))
            defer { probe.close() }
            #expect(await eventually { await Self.refusal(of: RedisCommand("PING"), on: probe) == "BUSY" }, "Redis never answered BUSY")
            gate.set(true)
            _ = try await stall.value
            #expect(await eventually(timeout: .seconds(10)) { (try? await h.delayedCount()) == 1 }, "the retry was written after the stall")
            #expect(
                log.lines.contains { $0.contains("writing outcome failed; will retry") && $0.contains("BUSY") }, "it met BUSY on the way")
            #expect(try await h.info().pending == 0)
        }
    }

    /// Around a failover the old master answers READONLY: a hand-off is retried until it lands.
    @Test func aHandOffMetByREADONLYLandsOnceTheServerTakesWritesAgain() async throws {
        let h = try await Harness()
        let gate = LockedValue(false)
        let started = LockedValue(0)
        let kind = Self.gated("first", gate: gate, started: started) {
            .next(JobRequest(queue: "q2", kind: "second", payload: "{}", maxAttempts: 1))
        }
        let log = LogCapture()
        let consumer = h.consumer(JobRegistry([kind]), visibilityTimeout: .seconds(120), logger: log.logger)
        let nowhere = try ClosedPort()
        try await h.running([consumer]) {
            _ = try await h.enqueue("first")
            #expect(await eventually { started.value == 1 })
            // A replica of a master that is not there: it keeps its data and refuses writes.
            _ = try await h.server.command("REPLICAOF", "127.0.0.1", String(nowhere.port))
            gate.set(true)
            let probe = RedisCommand("SET", ["{\(h.keys.prefix)}:probe", "1"])
            #expect(await eventually(timeout: .seconds(5)) { await Self.refusal(of: probe, on: h.pool.client) == "READONLY" })
            // The hand-off has met READONLY (and, before, was given up on: the entry stayed pending
            // for the whole visibility timeout).
            #expect(await eventually(timeout: .seconds(5)) { log.count(containing: "writing outcome failed") > 0 })
            #expect(log.lines.contains { $0.contains("writing outcome failed") && $0.contains("READONLY") })
            _ = try await h.server.command("REPLICAOF", "NO", "ONE")
            #expect(
                await eventually(timeout: .seconds(10)) {
                    let left = try? await h.length("q")
                    let next = try? await h.length("q2")
                    return left == 0 && next == 1
                })
        }
    }

    /// Redis delivered entries to this consumer but the reply never reached it (a dropped
    /// connection): after the failed read, the consumer reads its own pending entries back first
    /// and runs them at once, their delivery count untouched — instead of leaving them a whole
    /// visibility timeout and one delivery closer to poison.
    @Test func deliveriesLostOnTheWayAreReadBackAfterAFailedRead() async throws {
        let h = try await Harness()
        let name = "consumer-under-test"
        let deliveries = LockedValue<[Int]>([])
        let kind = JobDefinition(kind: "counted", queue: "q", retry: .once, timeout: .seconds(10), payload: TestKinds.Sleep.self) {
            _, context in
            let pending = try await context.redis.send(RedisCommand("XPENDING", [h.keys.stream("q"), "workers", "-", "+", "10", name]))
            for entry in pending.array ?? [] { if let count = entry.array?[3].integer { deliveries.withLock { $0.append(count) } } }
            try await context.redis.send("HINCRBY", h.runsKey, context.id, "1")
            return .done
        }
        // What a lost reply leaves behind: entries delivered to the consumer's name that it never saw.
        let ids = [try await h.enqueue("counted").id, try await h.enqueue("counted").id]
        try await h.broker.ensureGroup("q")
        let thief = RedisClient(endpoint: h.server.endpoint)
        defer { thief.close() }
        let stolen = try await thief.send(
            RedisCommand("XREADGROUP", ["GROUP", "workers", name, "COUNT", "10", "STREAMS", h.keys.stream("q"), ">"]))
        #expect(StreamEntry.list(stolen.array?.first?.array?[1] ?? .null).count == 2)
        let log = LogCapture()
        // A long blocking read: the cut must find it under way (a cut between reads loses nothing,
        // and a loaded machine took longer than a 1 s block between seeing the read and the cut).
        let consumer = h.consumer(
            JobRegistry([kind]), name: name, visibilityTimeout: .seconds(120), fetchBlock: .seconds(5), logger: log.logger)
        try await h.running([consumer]) {
            // Its read blocks (nothing new for it), then fails: every connection but ours is dropped.
            #expect(
                await eventually {
                    ((try? await h.pool.send("CLIENT", "LIST").string) ?? "").split(separator: "\n").contains {
                        $0.contains("flags=b") && $0.contains("cmd=xreadgroup")
                    }
                })
            #expect(try await h.runs().isEmpty)
            _ = try await h.server.command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            #expect(
                await eventually(timeout: .seconds(10)) { (try? await h.runs().count) == 2 },
                "read back long before the 120 s visibility timeout: \(log.lines.filter { !$0.hasPrefix("debug") && !$0.hasPrefix("trace") })"
            )
            #expect(try await Set(h.runs().keys) == Set(ids))
        }
        #expect(deliveries.value.allSatisfy { $0 == 1 }, "each ran on its one delivery: \(deliveries.value)")
    }

    /// Once stopping, a consumer finishes what it has and takes nothing more — not even a stale
    /// entry of a dead consumer when one of its slots frees.
    @Test func aStoppingConsumerClaimsNothing() async throws {
        let h = try await Harness()
        let kind = TestKinds.recorded(runsKey: h.runsKey)
        let consumer = h.consumer(JobRegistry([kind]), concurrency: 1, visibilityTimeout: .milliseconds(300), grace: .seconds(10))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            let long = try await h.enqueue("recorded", #"{"ms": 1500}"#)
            #expect(await eventually { (try? await h.info().pending) == 1 })
            // A dead consumer's entry goes stale while ours is still running.
            let stale = try await h.enqueue("recorded")
            let client = RedisClient(endpoint: h.server.endpoint)
            defer { client.close() }
            #expect(try await h.broker.read("q", consumer: "dead", count: 1, block: nil, on: client).count == 1)
            consumer.stop()
            try await group.waitForAll()
            #expect(try await h.runs()[long.id] == 1)
            #expect(try await h.runs()[stale.id] == nil, "claimed while stopping")
        }
        let owners = try await h.pool.send(RedisCommand("XPENDING", [h.keys.stream("q"), "workers", "-", "+", "10"]))
        #expect(owners.array?.first?.array?[1].string == "dead")
    }

    /// A handler that came back with its result as its deadline passed has finished: the result
    /// stands (the job is done, not retried). A handler cut off by its timeout whose kind has a
    /// dead-letter step gets that step run in full, though the job's task was cancelled.
    @Test func aResultAtTheDeadlineStandsAndATimedOutJobsDeadLetterStepRuns() async throws {
        let h = try await Harness()
        let noted = LockedValue<[String]>([])
        // Ignores cancellation and answers 400 ms into a 100 ms timeout.
        let late = JobDefinition(
            kind: "late", queue: "q", retry: .exponentialJitter(maxAttempts: 3), timeout: .milliseconds(100),
            payload: TestKinds.Sleep.self
        ) { _, context in
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                Thread.detachNewThread {
                    Thread.sleep(forTimeInterval: 0.4); done.resume()
                }
            }
            try await context.redis.send("HINCRBY", h.runsKey, context.id, "1")
            return .done
        }
        let hang = JobDefinition(
            kind: "hang", queue: "q", retry: .once, timeout: .milliseconds(100), payload: TestKinds.Sleep.self,
            onDeadLetter: { _, error, _ in
                // Waits, as an HTTP call to Chatwoot would: a cancelled task could not.
                try await Task.sleep(for: .milliseconds(50))
                noted.withLock { $0.append(error) }
            }
        ) { _, _ in
            try await Task.sleep(for: .seconds(30))
            return .done
        }
        let consumer = h.consumer(JobRegistry([late, hang]), promoteInterval: .seconds(3600))
        try await h.running([consumer]) {
            let finished = try await h.enqueue("late")
            _ = try await h.enqueue("hang", maxAttempts: 1)
            #expect(
                await eventually {
                    let runs = try? await h.runs()[finished.id]
                    let dead = try? await h.deadCount()
                    return runs == 1 && dead == 1
                })
            #expect(await eventually { noted.value.count == 1 }, "the dead-letter step ran to its end")
            #expect(try await h.delayedCount() == 0, "the late result was not thrown away as a timeout")
            #expect(await eventually { (try? await h.length()) == 0 })
        }
        #expect(noted.value.first?.contains("timed out") == true)
    }

    /// One member of a retry set that is no envelope neither stops promotion (of its queue or of
    /// the queues after it) nor vanishes: it is quarantined in the dead letters with the reason.
    @Test func aMalformedRetryIsQuarantinedAndTheOthersArePromoted() async throws {
        let h = try await Harness()
        let now = WallClock.unixMilliseconds()
        let good1 = JobRequest(queue: "q1", kind: "recorded-1", payload: "{}", maxAttempts: 2).envelope()
        let good2 = JobRequest(queue: "q2", kind: "recorded-2", payload: "{}", maxAttempts: 2).envelope()
        for (member, queue) in [
            (#"[{"a":1},"b"]"#, "q1"), ("not json", "q1"), (#"["odd"]"#, "q1"), (#"[1,2]"#, "q1"),
            (DelayedMember.encode(good1), "q1"), (DelayedMember.encode(good2), "q2"),
        ] {
            _ = try await h.pool.send("ZADD", h.keys.delayed(queue), String(now - 1), member)
        }
        let kinds = [1, 2].map { index in
            JobDefinition(kind: "recorded-\(index)", queue: "q\(index)", retry: .once, timeout: .seconds(5), payload: TestKinds.Sleep.self)
            { _, context in
                try await context.redis.send("HINCRBY", h.runsKey, context.id, "1")
                return .done
            }
        }
        let consumer = h.consumer(JobRegistry(kinds), queues: ["q1", "q2"])
        try await h.running([consumer]) {
            #expect(await eventually { (try? await h.runs().count) == 2 })
        }
        #expect(try await Set(h.runs().keys) == [good1.id, good2.id])
        #expect(try await h.delayedCount("q1") == 0)
        #expect(try await h.delayedCount("q2") == 0)
        let quarantined = try await h.pool.send(RedisCommand("XRANGE", [h.keys.dead("q1"), "-", "+"]))
        let letters = StreamEntry.list(quarantined).map(\.fieldMap)
        #expect(letters.count == 4)
        #expect(
            letters.allSatisfy {
                $0["error"]?.hasPrefix("malformed retry entry quarantined") == true && $0["raw"] != nil && $0["queue"] == "q1"
            })
        #expect(Set(letters.compactMap { $0["raw"] }) == [#"[{"a":1},"b"]"#, "not json", #"["odd"]"#, #"[1,2]"#])
    }
}
