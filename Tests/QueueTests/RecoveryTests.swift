import Foundation
import Redis
import TestSupport
import Testing

@testable import Queue

@Suite struct RecoveryTests {
    /// Delivers every entry of the queue to a consumer that will never settle them (a dead replica).
    func strand(_ h: Harness, count: Int, consumer ghost: String = "ghost") async throws {
        try await h.broker.ensureGroup("q")
        let client = RedisClient(endpoint: h.server.endpoint)
        defer { client.close() }
        let read = try await h.broker.read("q", consumer: ghost, count: count, block: .milliseconds(100), on: client)
        #expect(read.count == count)
    }

    @Test func staleEntriesAreClaimedAndRunOnceAcrossSeveralConsumers() async throws {
        let h = try await Harness()
        var ids: [String] = []
        for _ in 0..<90 { ids.append(try await h.enqueue("recorded").id) }
        try await strand(h, count: 90)
        let registry = JobRegistry([TestKinds.recorded(runsKey: h.runsKey)])
        // A visibility timeout a loaded machine's stall cannot outlast: at 300 ms, a heartbeat held
        // up that long let a second consumer claim a job the first was still running (CI, once).
        let consumers = (0..<3).map { _ in h.consumer(registry, concurrency: 10, visibilityTimeout: .seconds(2)) }
        try await h.running(consumers) {
            #expect(
                await eventually(timeout: .seconds(20)) {
                    let runs = try? await h.runs().count
                    let length = try? await h.length()
                    return runs == 90 && length == 0
                })
        }
        let runs = try await h.runs()
        #expect(Set(runs.keys) == Set(ids))
        #expect(runs.values.allSatisfy { $0 == 1 })
        #expect(try await h.info().pending == 0)
    }

    @Test func aLiveConsumersLongJobIsNeverReclaimed() async throws {
        let h = try await Harness()
        let registry = JobRegistry([TestKinds.recorded(runsKey: h.runsKey)])
        // Jobs run several times longer than the visibility timeout; the heartbeat (every third of
        // it) keeps them leased. The timeout leaves room for a loaded CI machine (the suite runs
        // consumer processes beside it) to stall a heartbeat for over a second without the lease
        // running out.
        let consumers = (0..<2).map { _ in h.consumer(registry, concurrency: 4, visibilityTimeout: .milliseconds(2500)) }
        try await h.running(consumers) {
            for _ in 0..<4 { _ = try await h.enqueue("recorded", #"{"ms": 7500}"#) }
            #expect(
                await eventually(timeout: .seconds(20)) {
                    let runs = try? await h.runs().count
                    let length = try? await h.length()
                    return runs == 4 && length == 0
                })
        }
        #expect(try await h.runs().values.allSatisfy { $0 == 1 })
    }

    @Test func entriesStillWithinTheirVisibilityTimeoutAreLeftAlone() async throws {
        let h = try await Harness()
        _ = try await h.enqueue("recorded")
        try await strand(h, count: 1)
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]), visibilityTimeout: .seconds(30))
        try await h.running([consumer]) {
            // Give the reclaimer several passes: nothing may be taken from the (maybe only slow) owner.
            let taken = await eventually(timeout: .seconds(1)) { (try? await h.runs().isEmpty) == false }
            #expect(!taken)
        }
        #expect(try await h.info().pending == 1)
    }

    @Test func aPoisonMessageIsBuriedAfterThePoisonLimit() async throws {
        let h = try await Harness()
        let envelope = try await h.enqueue("recorded")
        try await strand(h, count: 1)
        // Each claim that is not followed by an outcome is one more delivery, as if each consumer crashed.
        var cursor = "0-0"
        for round in 1...4 {
            let claimed = try await h.broker.reclaim(
                "q", consumer: "crasher-\(round)", visibilityTimeout: .zero, count: 10, poisonLimit: 3,
                cursor: cursor, now: WallClock.unixMilliseconds())
            cursor = claimed.cursor
            if round < 3 {
                #expect(claimed.entries.count == 1 && claimed.buried == 0)
            } else if round == 3 {
                #expect(claimed.entries.isEmpty && claimed.buried == 1)
            } else {
                #expect(claimed.entries.isEmpty && claimed.buried == 0)
            }
        }
        let letter = try #require(try await h.deadLetters().first)
        #expect(letter.envelope.id == envelope.id)
        #expect(letter.error.hasPrefix("poison: delivered 3 times without an outcome (limit 3)"))
        #expect(try await h.length() == 0)
        #expect(try await h.info().pending == 0)
    }

    @Test func deadConsumersAreRemovedOnceTheirWorkIsClaimed() async throws {
        let h = try await Harness()
        _ = try await h.enqueue("recorded")
        try await strand(h, count: 1, consumer: "dead-replica")
        #expect(try await h.broker.removeIdleConsumers("q", idle: .zero).isEmpty, "a consumer owning entries is never removed")
        let claimed = try await h.broker.reclaim(
            "q", consumer: "live", visibilityTimeout: .zero, count: 10, poisonLimit: 5, cursor: "0-0", now: 0)
        #expect(claimed.entries.count == 1)
        let removed = try await h.broker.removeIdleConsumers("q", idle: .zero)
        #expect(removed == ["dead-replica"])
        #expect(try await h.info().consumers.map(\.name) == ["live"])
    }

    @Test func concurrentPromotersMoveEachRetryOnce() async throws {
        let h = try await Harness()
        let due = WallClock.unixMilliseconds() - 1
        var expected: Set<String> = []
        for index in 0..<1200 {
            var envelope = Envelope(kind: "recorded", attempt: 2, maxAttempts: 3, payload: "{\"n\":\(index)}")
            envelope.record(FailureRecord(attempt: 1, at: due, error: "x"))
            expected.insert(envelope.id)
            _ = try await h.pool.send("ZADD", h.keys.delayed("q"), String(due), DelayedMember.encode(envelope))
        }
        let future = Envelope(kind: "recorded", maxAttempts: 3, payload: "{}")
        _ = try await h.pool.send("ZADD", h.keys.delayed("q"), String(due + 3_600_000), DelayedMember.encode(future))
        let brokers = (0..<4).map { _ in Broker(pool: RedisPool(endpoint: h.server.endpoint, size: 1), keys: h.keys) }
        let moved = try await withThrowingTaskGroup(of: Int.self) { group in
            for broker in brokers {
                group.addTask {
                    var total = 0
                    while true {
                        let moved = try await broker.promote("q", now: WallClock.unixMilliseconds(), limit: 50).taken
                        total += moved
                        if moved == 0 { return total }
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(moved == 1200)
        let entries = try await h.pool.send(RedisCommand("XRANGE", [h.keys.stream("q"), "-", "+"]))
        let ids = StreamEntry.list(entries).compactMap { try? Envelope(fields: $0.fields).id }
        #expect(ids.count == 1200)
        #expect(Set(ids) == expected)
        #expect(try await h.delayedCount() == 1)
    }

    @Test func aLateOutcomeForAnEntrySettledElsewhereIsDropped() async throws {
        let h = try await Harness()
        let envelope = try await h.enqueue("recorded")
        try await strand(h, count: 1)
        let entryID = try #require(StreamEntry.list(try await h.pool.send("XRANGE", h.keys.stream("q"), "-", "+")).first?.id)
        #expect(try await h.broker.ack("q", consumer: "ghost", entryIDs: [entryID]) == 1)
        var next = envelope
        next.attempt = 2
        #expect(try await h.broker.retry("q", consumer: "ghost", entryID: entryID, next: next, dueAt: 0) == false)
        let letter = DeadLetter(failing: envelope, queue: "q", error: "late", now: 0)
        #expect(try await h.broker.bury("q", consumer: "ghost", entryID: entryID, letter: letter) == false)
        #expect(try await h.delayedCount() == 0)
        #expect(try await h.deadCount() == 0)
    }

    /// A consumer cut off from Redis past the visibility timeout comes back with the outcome of a
    /// job another consumer has meanwhile claimed (and is running): whatever that outcome, it must
    /// not settle the other's entry — XACK alone would, as it ignores who owns the entry.
    @Test func aLateOutcomeNeverSettlesAnEntryAnotherConsumerClaimed() async throws {
        let h = try await Harness()
        let envelopes = [
            try await h.enqueue("recorded"), try await h.enqueue("recorded"), try await h.enqueue("recorded"),
            try await h.enqueue("recorded"),
        ]
        try await strand(h, count: 4, consumer: "cut-off")
        let claimed = try await h.broker.reclaim(
            "q", consumer: "live", visibilityTimeout: .zero, count: 10, poisonLimit: 5, cursor: "0-0", now: 0)
        #expect(claimed.entries.count == 4)
        let ids = claimed.entries.map(\.id)
        // The cut-off consumer's late outcomes, one of each kind.
        #expect(try await h.broker.ack("q", consumer: "cut-off", entryIDs: [ids[0]]) == 0)
        var next = envelopes[1]
        next.attempt = 2
        #expect(try await h.broker.retry("q", consumer: "cut-off", entryID: ids[1], next: next, dueAt: 0) == false)
        let letter = DeadLetter(failing: envelopes[2], queue: "q", error: "late", now: 0)
        #expect(try await h.broker.bury("q", consumer: "cut-off", entryID: ids[2], letter: letter) == false)
        let follow = JobRequest(queue: "q2", kind: "recorded", payload: "{}", maxAttempts: 1).envelope()
        #expect(try await h.broker.handOff("q", consumer: "cut-off", entryID: ids[3], next: follow, nextQueue: "q2") == false)
        #expect(try await h.info().pending == 4, "every entry is still the live consumer's")
        #expect(try await h.length() == 4)
        #expect(try await h.delayedCount() == 0)
        #expect(try await h.deadCount() == 0)
        #expect(try await h.length("q2") == 0)
        // The live consumer settles them all.
        #expect(try await h.broker.ack("q", consumer: "live", entryIDs: ids) == 4)
        #expect(try await h.length() == 0)
    }
}
