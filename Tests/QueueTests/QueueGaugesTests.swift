import Foundation
import Redis
import TestSupport
import Testing

@testable import Queue

/// The gauges Prometheus scrapes, read from Redis: right under a large backlog, and cheap enough
/// to read every 15 seconds.
@Suite struct QueueGaugesTests {
    @Test func everyGaugeSaysWhatTheQueueHolds() async throws {
        let h = try await Harness()
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]), concurrency: 2, name: "gauged")
        try await h.running([consumer]) {
            for _ in 0..<2 { _ = try await h.enqueue("recorded", #"{"ms": 4000}"#) }
            #expect(await eventually { (try? await h.info().pending) == 2 })
            for _ in 0..<5 { _ = try await h.enqueue("recorded") }
            // Two running hold both slots: five wait.
            try await h.pool.send("ZADD", h.keys.delayed("q"), "99999999999999", "[]")
            try await h.pool.send("XADD", h.keys.dead("q"), "*", "id", "x", "kind", "k")
            try await h.pool.send("SADD", h.keys.paused, "idle")
            let gauges = try await Inspector(broker: h.broker).gauges(["q", "idle"])
            let q = try #require(gauges.first)
            #expect(q.depth == 7 && q.pending == 2 && q.lag == 5)
            #expect(q.delayed == 1 && q.dead == 1 && q.consumers == 1 && !q.paused)
            #expect(q.oldestWaitingMilliseconds >= 0 && q.oldestWaitingMilliseconds < 60_000)
            let idle = try #require(gauges.last)
            #expect(
                idle
                    == Inspector.Gauges(
                        queue: "idle", depth: 0, pending: 0, lag: 0, oldestWaitingMilliseconds: 0, delayed: 0, dead: 0, consumers: 0,
                        paused: true))
        }
    }

    /// 200,000 waiting jobs: the values are exact and a read stays two round trips of O(1) and
    /// O(log n) commands (its time is printed, not asserted: the machine is shared).
    @Test func theGaugesUnderTwoHundredThousandWaitingJobs() async throws {
        let h = try await Harness()
        let old = WallClock.unixMilliseconds() - 90_000
        try await h.pool.send(
            "XADD", h.keys.stream("big"), "\(old)-0", "id", "first", "kind", "noop", "attempt", "1", "max_attempts", "1", "enqueued_at",
            "\(old)", "payload", "{}")
        // Added by Redis itself (a script, 20,000 at a time): the test's own CPU is not the point.
        for _ in 0..<10 {
            try await h.pool.send(
                "EVAL",
                """
                for i = 1, tonumber(ARGV[1]) do
                    redis.call('XADD', KEYS[1], '*', 'id', 'job' .. i, 'kind', 'noop', 'attempt', '1', 'max_attempts', '1', 'enqueued_at', ARGV[2], 'payload', '{}')
                end
                return 1
                """, "1", h.keys.stream("big"), "20000", "\(old)")
        }
        try await h.broker.ensureGroup("big")
        let inspector = Inspector(broker: h.broker)
        var times: [Duration] = []
        var last: Inspector.Gauges?
        for _ in 0..<20 {
            let start = ContinuousClock.now
            last = try await inspector.gauges(["big"]).first
            times.append(ContinuousClock.now - start)
        }
        let gauges = try #require(last)
        #expect(gauges.depth == 200_001 && gauges.lag == 200_001 && gauges.pending == 0)
        #expect(gauges.oldestWaitingMilliseconds >= 90_000 && gauges.oldestWaitingMilliseconds < 200_000)
        let median = times.sorted()[times.count / 2]
        print("queue gauges under 200,001 waiting jobs: median read \(median), slowest \(times.max()!)")
    }
}
