import Foundation
import Jobs
import Logging
import Queue
import Redis
import TestSupport
import Testing

@testable import Scheduler

/// Several scheduler replicas against one real Redis: every tick enqueued exactly once, one leader
/// at a time, a dead leader replaced and its missed tick caught up.
@Suite struct SchedulerServiceTests {
    struct Setup {
        let server: RedisServer
        let pool: RedisPool
        let broker: Broker

        init(prefix: String = #function) async throws {
            server = try await RedisServer()
            pool = RedisPool(endpoint: server.endpoint, size: 2)
            broker = Broker(pool: pool, keys: Keys(prefix: prefix.filter { $0.isLetter || $0.isNumber }))
        }

        func scheduler(_ name: String, entries: [ScheduleEntry], lease: Duration = .seconds(3)) -> SchedulerService {
            var logger = Logger(label: "test")
            logger.logLevel = .error
            return SchedulerService(
                configuration: .init(entries: entries, name: name, lease: lease, catchUp: .seconds(60)), broker: broker, logger: logger)
        }

        /// The ticks enqueued so far, read back from the jobs' dedupe keys.
        func ticks(_ name: String, queue: String = "diagnostics") async throws -> [Int] {
            let reply = try await pool.send("XRANGE", broker.keys.stream(queue), "-", "+")
            return (reply.array ?? []).compactMap { entry in
                entry.array?.last?.pairs.first { $0.key == "dedupe" }?.value.string
            }.filter { $0.hasPrefix("scheduler:\(name):") }.compactMap { Int($0.split(separator: ":").last!) }
        }

        func leader() async throws -> String? {
            try await pool.send("GET", broker.keys.schedulerLeader).string
        }
    }

    static func everySecond(_ name: String = "tick") throws -> ScheduleEntry {
        ScheduleEntry(name: name, schedule: try CronSchedule("@every 1s"), job: Diagnostics.noop.request(payload: "{}"))
    }

    @Test func threeReplicasEnqueueEachTickOnce() async throws {
        let setup = try await Setup()
        defer { setup.pool.close() }
        let replicas = try ["a", "b", "c"].map { setup.scheduler($0, entries: [try Self.everySecond()]) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for replica in replicas { group.addTask { try await replica.run() } }
            #expect(await eventually(timeout: .seconds(20)) { ((try? await setup.ticks("tick")) ?? []).count >= 4 })
            // (Each replica's belief is as of its last lease attempt: a loaded machine may leave a
            // former leader believing for a moment longer; Redis has one holder throughout.)
            #expect(await eventually { replicas.filter(\.isLeader).count == 1 }, "one leader at a time")
            let leader = try await setup.leader()
            #expect(["a", "b", "c"].contains(leader ?? ""))
            for replica in replicas { replica.stop() }
            try await group.waitForAll()
        }
        let ticks = try await setup.ticks("tick")
        #expect(Set(ticks).count == ticks.count, "no tick twice: \(ticks)")
        #expect(ticks.sorted() == Array(ticks.min()!...ticks.max()!), "no tick skipped: \(ticks.sorted())")
        #expect(try await setup.leader() == nil, "a replica stopping gives its lease up")
    }

    @Test func aDeadLeaderIsReplacedAndItsMissedTickCaughtUpOnce() async throws {
        let setup = try await Setup()
        defer { setup.pool.close() }
        let minute = ScheduleEntry(name: "minute", schedule: try CronSchedule("@every 1m"), job: Diagnostics.noop.request(payload: "{}"))
        // A lease long enough that a loaded machine still finds it held right after the crash.
        let first = setup.scheduler("first", entries: [try Self.everySecond(), minute], lease: .seconds(6))
        let crashed = Task { await first.work(releaseOnStop: false) }
        #expect(await eventually(timeout: .seconds(10)) { ((try? await setup.ticks("tick")) ?? []).count >= 2 })
        // Dies holding the lease: nobody fires until it runs out.
        first.stop()
        await crashed.value
        #expect(try await setup.leader() == "first")
        let stoppedAt = Int(Date().timeIntervalSince1970)
        let second = setup.scheduler("second", entries: [try Self.everySecond(), minute], lease: .seconds(2))
        let running = Task { try await second.run() }
        #expect(await eventually(timeout: .seconds(20)) { (try? await setup.leader()) == "second" })
        #expect(await eventually(timeout: .seconds(10)) { ((try? await setup.ticks("tick")) ?? []).contains { $0 > stoppedAt + 1 } })
        second.stop()
        try await running.value
        let ticks = try await setup.ticks("tick")
        #expect(Set(ticks).count == ticks.count, "no tick twice across the failover: \(ticks.sorted())")
        // The minute's tick was fired by the first leader; the second, catching up, found it done
        // (a new minute may have begun meanwhile: its tick is a different one).
        let minutes = try await setup.ticks("minute")
        #expect(!minutes.isEmpty && Set(minutes).count == minutes.count, "\(minutes)")
    }

    /// A replica taking over fires every tick after the last one its predecessors recorded (within
    /// the catch-up window), not only the latest: a change of leader skips no tick.
    @Test func aNewLeaderFiresEveryTickSinceTheLastOneFired() async throws {
        let setup = try await Setup()
        defer { setup.pool.close() }
        let now = Int(Date().timeIntervalSince1970)
        try await FiredTicks(pool: setup.pool, keys: setup.broker.keys).record("tick", tick: now - 5, jobID: "earlier")
        let replica = setup.scheduler("late", entries: [try Self.everySecond()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await replica.run() }
            #expect(await eventually(timeout: .seconds(20)) { ((try? await setup.ticks("tick")) ?? []).count >= 5 })
            replica.stop()
            try await group.waitForAll()
        }
        let ticks = try await setup.ticks("tick").sorted()
        #expect(ticks.first == now - 4, "from the tick after the recorded one: \(ticks)")
        #expect(ticks == Array(ticks.min()!...ticks.max()!), "none skipped: \(ticks)")
    }

    @Test func scheduleFilesAreCheckedEntryByEntry() throws {
        let registry = Catalogue.registry()
        let good =
            #"[{"name": "nightly-noop", "cron": "0 3 * * *", "kind": "noop"}, {"name": "pause", "cron": "@every 30s", "kind": "sleep", "payload": {"ms": 5}}]"#
        let entries = try ScheduleEntry.load(Data(good.utf8), registry: registry)
        #expect(entries.map(\.name) == ["nightly-noop", "pause"])
        #expect(entries[1].job.payload == #"{"ms":5}"# && entries[1].job.queue == "diagnostics" && entries[1].job.kind == "sleep")
        let cases: [(String, String)] = [
            (#"{"name": "x"}"#, "not a JSON array"),
            (#"[{"cron": "@daily", "kind": "noop"}]"#, "'name' is missing"),
            (#"[{"name": "a", "cron": "@daily", "kind": "noop"}, {"name": "a", "cron": "@daily", "kind": "noop"}]"#, "appears twice"),
            (#"[{"name": "a", "cron": "61 * * * *", "kind": "noop"}]"#, "schedule entry 'a': '61 * * * *': minute '61'"),
            (#"[{"name": "a", "cron": "@daily", "kind": "backup.snapshot"}]"#, "kind 'backup.snapshot' is not in the catalogue"),
            (#"[{"name": "a", "cron": "@daily", "kind": "noop", "payload": 5}]"#, "'payload' must be a JSON object"),
            // A queue the kind does not run on: no consumer would ever take the job.
            (
                #"[{"name": "a", "cron": "@daily", "kind": "noop", "queue": "diagnostcs"}]"#,
                "kind 'noop' runs on queue 'diagnostics', not 'diagnostcs'"
            ),
            (#"[{"name": "a", "cron": "@daily", "kind": "noop", "queue": "*"}]"#, "runs on queue 'diagnostics', not '*'"),
            (#"[{"name": "a", "cron": "@daily", "kind": "noop", "queue": 7}]"#, "'queue' must be a queue's name"),
        ]
        for (text, message) in cases {
            #expect { try ScheduleEntry.load(Data(text.utf8), registry: registry) } throws: { "\($0)".contains(message) }
        }
    }
}
