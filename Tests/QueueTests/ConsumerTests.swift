import Foundation
import Redis
import Synchronization
import TestSupport
import Testing

@testable import Queue

@Suite struct ConsumerTests {
    @Test func everyJobRunsOnceAndLeavesTheStream() async throws {
        let h = try await Harness()
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]), concurrency: 16)
        let ids = try await h.running([consumer]) {
            var ids: [String] = []
            for _ in 0..<300 { ids.append(try await h.enqueue("recorded").id) }
            #expect(await eventually { (try? await h.runs().count) == 300 })
            #expect(await eventually { (try? await h.length()) == 0 })
            return ids
        }
        let runs = try await h.runs()
        #expect(Set(runs.keys) == Set(ids))
        #expect(runs.values.allSatisfy { $0 == 1 })
        let info = try await h.info()
        #expect(info.pending == 0)
        #expect(info.dead == 0)
    }

    @Test func pendingEntriesStayInTheStreamUntilTheyFinish() async throws {
        let h = try await Harness()
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]))
        try await h.running([consumer]) {
            _ = try await h.enqueue("recorded", #"{"ms": 800}"#)
            #expect(await eventually { (try? await h.info().pending) == 1 })
            // In flight: delivered, not acknowledged, still in the stream.
            #expect(try await h.length() == 1)
            #expect(await eventually { (try? await h.length()) == 0 })
            #expect(try await h.info().pending == 0)
        }
    }

    @Test func concurrencyIsBounded() async throws {
        let h = try await Harness()
        let gauge = Mutex((now: 0, peak: 0))
        let kind = JobDefinition(kind: "busy", queue: "q", retry: .once, timeout: .seconds(10), payload: TestKinds.Sleep.self) {
            _, context in
            gauge.withLock {
                $0.now += 1; $0.peak = max($0.peak, $0.now)
            }
            try await Task.sleep(for: .milliseconds(30))
            gauge.withLock { $0.now -= 1 }
            try await context.redis.send("INCR", "{\(h.keys.prefix)}:done")
            return .done
        }
        let consumer = h.consumer(JobRegistry([kind]), concurrency: 5)
        try await h.running([consumer]) {
            for _ in 0..<60 { _ = try await h.enqueue("busy") }
            #expect(await eventually(timeout: .seconds(20)) { (try? await h.pool.send("GET", "{\(h.keys.prefix)}:done").integer) == 60 })
        }
        #expect(gauge.withLock { $0.peak } == 5)
    }

    @Test func handOffEnqueuesTheNextStageAtomicallyWithTheAck() async throws {
        let h = try await Harness()
        let first = JobDefinition(kind: "first", queue: "q", retry: .once, timeout: .seconds(5), payload: TestKinds.Sleep.self) { _, _ in
            .next(JobRequest(queue: "q2", kind: "second", payload: #"{"ms": 1}"#, maxAttempts: 2))
        }
        let consumer = h.consumer(JobRegistry([first, TestKinds.recorded("second", runsKey: h.runsKey)]), queues: ["q", "q2"])
        try await h.running([consumer]) {
            _ = try await h.enqueue("first")
            #expect(await eventually { (try? await h.runs().count) == 1 })
            #expect(
                await eventually {
                    let first = try? await h.length("q")
                    let second = try? await h.length("q2")
                    return first == 0 && second == 0
                })
        }
        let queues = try await Inspector(broker: h.broker).queueNames()
        #expect(queues.contains("q2"))
    }

    @Test func aStageRunTwiceHandsOnOneFollowUpPerIdempotencyKey() async throws {
        let h = try await Harness()
        // Every run of `first` hands on under the same key, as one flow stage re-run would.
        let first = JobDefinition(kind: "first", queue: "q", retry: .once, timeout: .seconds(5), payload: TestKinds.Sleep.self) { _, _ in
            .next(JobRequest(queue: "q2", kind: "second", payload: #"{"ms": 1}"#, maxAttempts: 2, dedupe: "flow:42:second"))
        }
        let consumer = h.consumer(JobRegistry([first, TestKinds.recorded("second", runsKey: h.runsKey)]), queues: ["q", "q2"])
        try await h.running([consumer]) {
            _ = try await h.enqueue("first")
            _ = try await h.enqueue("first")
            #expect(
                await eventually {
                    let waiting = try? await h.length("q")
                    let pending = try? await h.info().pending
                    return waiting == 0 && pending == 0
                })
            #expect(
                await eventually {
                    let runs = try? await h.runs().count
                    let next = try? await h.length("q2")
                    return runs == 1 && next == 0
                })
        }
        #expect(try await h.runs().count == 1, "the second hand-off settled its entry without a second follow-up")
        #expect(try await h.info().pending == 0)
        let remembered = try await h.pool.send("TTL", h.keys.dedupe("flow:42:second")).integer ?? 0
        #expect(remembered > 86_400, "the key outlives any retry budget")
    }

    /// One blocking read waits on every queue of the process (the default consumer reads a dozen
    /// queues with ten slots): no queue holds a slot or a connection while it waits, and a job on
    /// any of them starts at once.
    @Test func aJobOnAnIdleQueueStartsWithoutWaitingForAnotherQueuesBlockedRead() async throws {
        let h = try await Harness()
        // Blocked reads last 8 s here: a fetcher that waited for slots another queue's blocked read
        // holds would start the job only then, past the bound below. Fewer slots than queues.
        let queues = ["q1", "q2", "q3", "q4"]
        let kinds = queues.map { queue in
            JobDefinition(kind: "on-\(queue)", queue: queue, retry: .once, timeout: .seconds(5), payload: TestKinds.Sleep.self) {
                _, context in
                try await context.redis.send("HINCRBY", h.runsKey, queue, "1")
                return .done
            }
        }
        let consumer = h.consumer(JobRegistry(kinds), queues: queues, concurrency: 2, fetchBlock: .seconds(8))
        try await h.running([consumer]) {
            // One read blocks, for all four queues.
            let blocked = {
                ((try? await h.pool.send("CLIENT", "LIST").string) ?? "").split(separator: "\n")
                    .filter { $0.contains("flags=b") && $0.contains("cmd=xreadgroup") }.count
            }
            #expect(await eventually(timeout: .seconds(20)) { await blocked() == 1 })
            for queue in queues {
                _ = try await h.broker.add(
                    JobRequest(queue: queue, kind: "on-\(queue)", payload: "{}", maxAttempts: 1).envelope(), to: queue)
                #expect(
                    await eventually(timeout: .seconds(5)) { (try? await h.runs()[queue]) == 1 }, "the job on \(queue) started promptly")
            }
            #expect(await eventually { await blocked() == 1 }, "and waits again with one read, never one per queue")
        }
    }

    @Test func thousandsOfAcknowledgementsAtOnceAreSplitIntoScriptSizedSteps() async throws {
        let h = try await Harness()
        try await h.broker.add(
            (0..<2500).map { _ in JobRequest(queue: "q", kind: "noop", payload: "{}", maxAttempts: 1).envelope() }, to: "q")
        try await h.broker.ensureGroup("q")
        let client = RedisClient(endpoint: h.server.endpoint)
        defer { client.close() }
        let entries = try await h.broker.read("q", consumer: "c", count: 5000, block: .milliseconds(10), on: client)
        #expect(entries.count == 2500)
        #expect(try await h.broker.heartbeat("q", consumer: "c", entryIDs: entries.map(\.id)) == 2500)
        #expect(try await h.broker.ack("q", consumer: "c", entryIDs: entries.map(\.id)) == 2500)
        #expect(try await h.length() == 0)
        #expect(try await h.info().pending == 0)
    }

    /// A clumsy `--queues q,q`: the queue is read once and its jobs run once each (it used to trap
    /// the process on a duplicate dictionary key before anything ran).
    @Test func aQueueNamedTwiceIsReadOnce() async throws {
        let h = try await Harness()
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]), queues: ["q", "q"])
        #expect(consumer.configuration.queues == ["q"])
        let ids = try await h.running([consumer]) {
            var ids: [String] = []
            for _ in 0..<20 { ids.append(try await h.enqueue("recorded").id) }
            #expect(await eventually { (try? await h.runs().count) == 20 })
            return ids
        }
        let runs = try await h.runs()
        #expect(Set(runs.keys) == Set(ids) && runs.values.allSatisfy { $0 == 1 })
    }

    @Test func consumersRecoverWhenRedisLosesTheirGroup() async throws {
        let h = try await Harness()
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]))
        try await h.running([consumer]) {
            let first = try await h.enqueue("recorded")
            #expect(await eventually { (try? await h.runs()[first.id]) == 1 })
            // A Redis restarted without persistence comes back empty: no stream, no group (NOGROUP).
            _ = try await h.pool.send("FLUSHALL")
            let second = try await h.enqueue("recorded")
            #expect(await eventually { (try? await h.runs()[second.id]) == 1 })
        }
    }

    @Test func dedupeKeyAndEnqueueAreOneStep() async throws {
        let h = try await Harness()
        let request = JobRequest(queue: "q", kind: "noop", payload: "{}", maxAttempts: 1)
        let first = request.envelope()
        let added = try await h.broker.addGuarded(first, to: "q", dedupeKey: "svix:msg_1", ttlSeconds: 86_400, highWater: 0)
        let again = try await h.broker.addGuarded(request.envelope(), to: "q", dedupeKey: "svix:msg_1", ttlSeconds: 86_400, highWater: 0)
        #expect(added == .added(jobID: first.id))
        #expect(again == .duplicate(jobID: first.id))
        #expect(try await h.length() == 1)
        let ttl = try await h.pool.send("TTL", h.keys.dedupe("svix:msg_1")).integer ?? 0
        #expect(ttl > 86_000)
    }

    @Test func aQueueAtItsHighWaterMarkRefusesNewJobsButStillAnswersDuplicates() async throws {
        let h = try await Harness()
        let request = JobRequest(queue: "q", kind: "noop", payload: "{}", maxAttempts: 1)
        let first = request.envelope()
        #expect(try await h.broker.addGuarded(first, to: "q", dedupeKey: "k1", ttlSeconds: 60, highWater: 2) == .added(jobID: first.id))
        #expect(
            try await h.broker.addGuarded(request.envelope(), to: "q", dedupeKey: nil, ttlSeconds: 60, highWater: 2) != .full(length: 1))
        let refused = try await h.broker.addGuarded(request.envelope(), to: "q", dedupeKey: "k2", ttlSeconds: 60, highWater: 2)
        #expect(refused == .full(length: 2))
        #expect(
            try await h.pool.send("EXISTS", h.keys.dedupe("k2")).integer == 0,
            "a refused delivery leaves no key behind, so its retry is accepted")
        #expect(
            try await h.broker.addGuarded(request.envelope(), to: "q", dedupeKey: "k1", ttlSeconds: 60, highWater: 2)
                == .duplicate(jobID: first.id))
        #expect(try await h.length() == 2)
    }
}
