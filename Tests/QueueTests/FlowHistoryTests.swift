import Foundation
import Redis
import TestSupport
import Testing

@testable import Queue

/// One flow id and one trace through every stage, the bounded history of settled attempts, and
/// `FlowTracer` finding a flow's jobs wherever they are.
@Suite struct FlowHistoryTests {
    /// `first` on q hands on to `second` on q2, which records the flow and trace it saw.
    static func stages(_ h: Harness, secondFails: JobFailure? = nil) -> JobRegistry {
        let first = JobDefinition(kind: "first", queue: "q", retry: .once, timeout: .seconds(5), payload: TestKinds.Sleep.self) { _, _ in
            .next(JobRequest(queue: "q2", kind: "second", payload: "{}", maxAttempts: 2))
        }
        let second = JobDefinition(
            kind: "second", queue: "q2", retry: RetryPolicy(maxAttempts: 2, base: .milliseconds(10), cap: .milliseconds(10)),
            timeout: .seconds(5), payload: TestKinds.Sleep.self
        ) { _, context in
            try await context.redis.send("HSET", h.runsKey, "flow", context.flow, "trace", context.trace ?? "", "id", context.id)
            if let secondFails { throw secondFails }
            return .done
        }
        return JobRegistry([first, second])
    }

    @Test func everyStageCarriesTheFlowAndContinuesTheTrace() async throws {
        let h = try await Harness()
        let consumer = h.consumer(Self.stages(h), queues: ["q", "q2"])
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let started = JobRequest(queue: "q", kind: "first", payload: "{}", maxAttempts: 1, trace: traceparent).envelope()
        try await h.broker.add(started, to: "q")
        let seen = try await h.running([consumer]) {
            #expect(await eventually(timeout: .seconds(30)) { (try? await h.history("q2"))?.contains { $0.outcome == .done } == true })
            return try await h.pool.send("HGETALL", h.runsKey).stringHash
        }
        #expect(seen["flow"] == started.id)
        let trace = try #require(TraceParent(seen["trace"] ?? ""))
        #expect(trace.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace.parentID == TraceParent.span(of: started.id))
        #expect(trace.flags == "01")
        // (A loaded machine may time an attempt out and run it again: the records say so too.)
        let first = try await h.history("q").last
        #expect(first?.outcome == .handedOn)
        #expect(first?.next == seen["id"])
        #expect(first?.flow == started.id)
        let second = try await h.history("q2").last
        #expect(second?.outcome == .done)
        #expect(second?.jobID == seen["id"])
        #expect(second?.flow == started.id)
        #expect(second?.kind == "second")
        let lengths = [try await h.length("q"), try await h.length("q2")]
        #expect(lengths == [0, 0])
    }

    @Test func theHistoryRecordsEachFailedAttemptAndTheDeadLetter() async throws {
        let h = try await Harness()
        let consumer = h.consumer(Self.stages(h, secondFails: .retryable("model said 503")), queues: ["q", "q2"])
        let started = try await h.enqueue("first")
        try await h.running([consumer]) {
            #expect(await eventually { (try? await h.deadCount("q2")) == 1 })
        }
        let records = try await h.history("q2")
        #expect(records.map(\.outcome) == [.retry, .dead])
        #expect(records.map(\.attempt) == [1, 2])
        #expect(records.allSatisfy { $0.flow == started.id && $0.error?.contains("model said 503") == true })
        #expect(records.first?.jobID == records.last?.jobID)
    }

    /// On a Redis whose stream blocks hold 10 entries (the default is 100), so that trimming a
    /// block at a time shows within a test.
    @Test func theHistoryKeepsTheLastNAndNothingOlderThanItsAge() async throws {
        let server = try await RedisServer(extraArguments: ["--stream-node-max-entries", "10"])
        let h = try await Harness(server: server, history: HistoryRetention(entries: 5, age: .seconds(3600)))
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]))
        var ids: [String] = []
        try await h.running([consumer]) {
            for _ in 0..<60 { ids.append(try await h.enqueue("recorded").id) }
            #expect(await eventually { (try? await h.runs().count) == 60 })
            #expect(await eventually { (try? await h.length()) == 0 })
        }
        // At least the last five, at most a block more.
        let kept = try await h.history()
        #expect((5...15).contains(kept.count), "\(kept.count)")
        #expect(Set(kept.map(\.jobID)).isSubset(of: Set(ids)))

        // An age of 200 ms: a record written later drops those written before it by more than that.
        let aged = try await Harness(
            server: try await RedisServer(extraArguments: ["--stream-node-max-entries", "1"]), prefix: "aged",
            history: HistoryRetention(entries: 100, age: .milliseconds(200)))
        let again = aged.consumer(JobRegistry([TestKinds.recorded(runsKey: aged.runsKey)]))
        try await aged.running([again]) {
            let old = try await aged.enqueue("recorded").id
            #expect(await eventually { (try? await aged.history().count) == 1 })
            let start = ContinuousClock.now
            #expect(await eventually { ContinuousClock.now - start > .milliseconds(400) })
            let new = try await aged.enqueue("recorded").id
            #expect(await eventually { (try? await aged.history().map(\.jobID)) == [new] })
            #expect(old != new)
        }
    }

    @Test func noHistoryIsWrittenWhenItIsOff() async throws {
        let h = try await Harness(history: .none)
        let consumer = h.consumer(Self.stages(h, secondFails: .permanent("no")), queues: ["q", "q2"])
        _ = try await h.enqueue("first")
        try await h.running([consumer]) {
            #expect(await eventually { (try? await h.deadCount("q2")) == 1 })
        }
        #expect(try await h.pool.send("EXISTS", h.keys.history("q"), h.keys.history("q2")).integer == 0)
    }

    @Test func aPoisonEntryBuriedByTheReclaimerIsInTheHistory() async throws {
        let h = try await Harness()
        try await h.broker.ensureGroup("q")
        let envelope = try await h.enqueue("crashing")
        let reader = RedisClient(endpoint: h.server.endpoint)
        defer { reader.close() }
        _ = try await h.broker.read("q", consumer: "gone", count: 1, block: nil, on: reader)
        let reclaimed = try await h.broker.reclaim(
            "q", consumer: "alive", visibilityTimeout: .zero, count: 10, poisonLimit: 0,
            cursor: "0-0", now: WallClock.unixMilliseconds())
        #expect(reclaimed.buried == 1)
        let records = try await h.history()
        #expect(records.count == 1)
        #expect(records.first?.jobID == envelope.id)
        #expect(records.first?.outcome == .dead)
        #expect(records.first?.error?.hasPrefix("poison") == true)
    }

    @Test func aTraceFindsEveryStageByTheFlowOrByAnyOfItsJobs() async throws {
        let h = try await Harness()
        let consumer = h.consumer(Self.stages(h, secondFails: .permanent("the reply was refused")), queues: ["q", "q2"])
        let started = try await h.enqueue("first")
        let other = try await h.enqueue("first")
        try await h.running([consumer]) {
            #expect(await eventually { (try? await h.deadCount("q2")) == 2 })
        }
        let tracer = FlowTracer(broker: h.broker)
        let trace = try #require(try await tracer.trace(started.id))
        #expect(trace.flow == started.id)
        // Required, not expected: the indexing below must not trap the whole run when it fails.
        try #require(trace.steps.map(\.state) == [.next, .dead, .deadLetter])
        #expect(trace.steps.map(\.queue) == ["q", "q2", "q2"])
        let second = trace.steps[1].jobID
        #expect(trace.steps[0].next == second)
        #expect(trace.steps[2].entryID != nil && trace.steps[2].error == "the reply was refused")
        #expect(!trace.steps.contains { $0.jobID == other.id })
        // By the second stage's id: the same flow.
        let bySecond = try #require(try await tracer.trace(second))
        #expect(bySecond == trace)
        #expect(try await tracer.trace(JobID.make()) == nil)
        #expect(try await tracer.trace("not an id at all") == nil)
    }

    @Test func aTraceFindsLiveJobsWaitingRunningAndDelayed() async throws {
        let h = try await Harness()
        let flow = JobID.make()
        let waiting = JobRequest(queue: "idle", kind: "later", payload: "{}", maxAttempts: 1, flow: flow).envelope()
        try await h.broker.add(waiting, to: "idle")
        var delayed = JobRequest(queue: "idle", kind: "retried", payload: "{}", maxAttempts: 3, flow: flow).envelope()
        delayed.attempt = 2
        try await h.pool.send(
            "ZADD", h.keys.delayed("idle"), String(WallClock.unixMilliseconds() + 3_600_000), DelayedMember.encode(delayed))
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]), name: "runner-1")
        let running = JobRequest(queue: "q", kind: "recorded", payload: #"{"ms": 5000}"#, maxAttempts: 1, flow: flow).envelope()
        try await h.broker.add(running, to: "q")
        let trace = try await h.running([consumer]) {
            #expect(await eventually { (try? await h.info().pending) == 1 })
            return try await FlowTracer(broker: h.broker).trace(flow)
        }
        let steps = try #require(trace).steps
        #expect(Set(steps.map(\.jobID)) == [waiting.id, delayed.id, running.id])
        let byID = Dictionary(uniqueKeysWithValues: steps.map { ($0.jobID, $0) })
        #expect(byID[waiting.id]?.state == .waiting)
        #expect(byID[delayed.id]?.state == .delayed)
        #expect(byID[delayed.id]?.attempt == 2)
        #expect(byID[running.id]?.state == .pending)
        #expect(byID[running.id]?.consumer == "runner-1")
    }
}

@Suite struct TraceParentTests {
    @Test func aWellFormedHeaderIsKept() throws {
        let parent = try #require(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        #expect(parent.description == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        let child = parent.child(of: "01JABCDEFGHJKMNPQRSTVWXYZ0")
        #expect(child.traceID == parent.traceID && child.flags == parent.flags)
        #expect(child.parentID != parent.parentID && child.parentID.count == 16)
        #expect(child.parentID == TraceParent.span(of: "01JABCDEFGHJKMNPQRSTVWXYZ0"))
        // A later version may append fields; the first four keep their meaning.
        #expect(
            TraceParent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")?.description
                == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    }

    @Test(arguments: [
        "", "00", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX: y", String(repeating: "0", count: 100_000),
    ])
    func anythingElseIsDropped(_ text: String) {
        #expect(TraceParent(text) == nil)
    }

    @Test func anEnvelopeWritesItsFlowOnlyWhenItIsAnotherJobs() throws {
        let own = Envelope(id: "A", kind: "k", maxAttempts: 1, payload: "{}")
        #expect(own.flow == "A")
        #expect(!own.fields.contains("flow"))
        let staged = Envelope(id: "B", kind: "k", maxAttempts: 1, payload: "{}", flow: "A")
        #expect(staged.fields.contains("flow"))
        let read = try Envelope(fields: stride(from: 0, to: staged.fields.count, by: 2).map { (staged.fields[$0], staged.fields[$0 + 1]) })
        #expect(read == staged)
        let old = try Envelope(fields: ["id": "C", "kind": "k", "attempt": "1", "max_attempts": "1", "enqueued_at": "0", "payload": "{}"])
        #expect(old.flow == "C")
    }

    @Test func aJobIDGivesBackItsCreationTime() {
        let now = WallClock.unixMilliseconds()
        #expect(JobID.milliseconds(of: JobID.make(now: now)) == now)
        #expect(JobID.milliseconds(of: "short") == nil)
        #expect(JobID.milliseconds(of: "0000000000000000000000000!") == nil)
    }
}
