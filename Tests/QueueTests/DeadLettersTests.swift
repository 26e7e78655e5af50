import Foundation
import Redis
import TestSupport
import Testing

@testable import Queue

@Suite struct DeadLettersTests {
    /// Buries `count` letters of `kind` on `queue` through the real bury script.
    func bury(_ h: Harness, count: Int, kind: String = "k", queue: String = "q", error: String = "boom") async throws -> [Envelope] {
        try await h.broker.ensureGroup(queue)
        let client = RedisClient(endpoint: h.server.endpoint)
        defer { client.close() }
        var envelopes: [Envelope] = []
        for index in 0..<count {
            var envelope = Envelope(kind: kind, attempt: 3, maxAttempts: 3, payload: "{\"n\":\(index)}")
            envelope.record(FailureRecord(attempt: 1, at: 1, error: "first"))
            try await h.broker.add(envelope, to: queue)
            envelopes.append(envelope)
        }
        let entries = try await h.broker.read(queue, consumer: "c", count: count, block: .milliseconds(10), on: client)
        for (entry, envelope) in zip(entries, envelopes) {
            let letter = DeadLetter(failing: envelope, queue: queue, error: error, now: WallClock.unixMilliseconds())
            #expect(try await h.broker.bury(queue, consumer: "c", entryID: entry.id, letter: letter))
        }
        return envelopes
    }

    @Test func listIsNewestFirstAndFilters() async throws {
        let h = try await Harness()
        let dead = DeadLetters(broker: h.broker)
        let older = try await bury(h, count: 3, kind: "transcribe", error: "Azure 400: unsupported audio")
        let newer = try await bury(h, count: 2, kind: "reply", queue: "replies", error: "Chatwoot 404 conversation")
        let all = try await dead.list(.init(), limit: 10)
        #expect(all.map(\.jobID) == (newer.reversed() + older.reversed()).map(\.id))
        #expect(try await dead.list(.init(kind: "transcribe"), limit: 10).count == 3)
        #expect(try await dead.list(.init(error: "AZURE 400"), limit: 10).map(\.queue) == ["q", "q", "q"])
        #expect(try await dead.list(.init(queue: "replies"), limit: 1).map(\.jobID) == [newer[1].id])
        #expect(try await dead.list(.init(since: WallClock.unixMilliseconds() + 60_000), limit: 10).isEmpty)
    }

    @Test func retryPutsTheJobBackWithAttemptsResetAndHistoryKept() async throws {
        let h = try await Harness()
        let dead = DeadLetters(broker: h.broker)
        let original = try #require(try await bury(h, count: 1).first)
        let item = try #require(try await dead.find(original.id))
        #expect(try await dead.retry(item))
        #expect(try await dead.retry(item) == false, "a letter is retried once")
        #expect(try await h.deadCount() == 0)
        let entries = StreamEntry.list(try await h.pool.send("XRANGE", h.keys.stream("q"), "-", "+"))
        let revived = try #require(entries.first.map { try Envelope(fields: $0.fields) })
        #expect(revived.id == original.id)
        #expect(revived.attempt == 1)
        #expect(revived.payload == original.payload)
        #expect(revived.history.map(\.error) == ["first"])
    }

    @Test func dropAndFindByEntryID() async throws {
        let h = try await Harness()
        let dead = DeadLetters(broker: h.broker)
        _ = try await bury(h, count: 3)
        let items = try await dead.list(.init(), limit: 10)
        let byEntry = try #require(try await dead.find(items[0].entryID))
        #expect(byEntry.jobID == items[0].jobID)
        #expect(try await dead.drop(Array(items.prefix(2))) == 2)
        #expect(try await dead.drop(Array(items.prefix(2))) == 0)
        #expect(try await h.deadCount() == 1)
        #expect(try await dead.find(items[0].jobID) == nil)
    }

    @Test func exportThenImportRoundTrips() async throws {
        let h = try await Harness()
        let dead = DeadLetters(broker: h.broker)
        _ = try await bury(h, count: 4)
        var lines: [String] = []
        try await dead.forEachPage(.init()) { items in lines += items.map(DeadLetters.exportLine) }
        #expect(lines.count == 4)
        _ = try await dead.drop(try await dead.list(.init(), limit: 10))
        let numbered = lines.enumerated().map { (number: $0.offset + 1, text: $0.element) }
        let first = try await dead.importLines(numbered, queues: ["q"])
        #expect(first.imported == 4 && first.alreadyThere == 0 && first.refused.isEmpty)
        let back = try await dead.list(.init(), limit: 10)
        #expect(back.count == 4)
        #expect(Set(back.compactMap(\.letter?.envelope.id)).count == 4)
        #expect(back.allSatisfy { $0.letter?.error == "boom" && $0.letter?.envelope.history.count == 1 })
        // The same file again adds nothing; a foreign queue and broken lines are refused by number.
        let again = try await dead.importLines(
            numbered + [
                (number: 7, text: #"{"queue": "q", "fields": {"id": "x"}}"#), (number: 8, text: "not json"),
                (number: 9, text: lines[0].replacingOccurrences(of: #""queue":"q""#, with: #""queue":"nowhere""#)),
            ], queues: ["q"])
        #expect(again.imported == 0 && again.alreadyThere == 4)
        #expect(again.refused.map(\.line) == [7, 8, 9])
        #expect(again.refused.last?.reason.contains("'nowhere' is not a queue of this build") == true)
        #expect(try await h.deadCount() == 4)
    }

    @Test func pagesThroughAHundredThousandLetters() async throws {
        let h = try await Harness()
        let dead = DeadLetters(broker: h.broker)
        let key = h.keys.dead("q")
        _ = try await h.pool.send("SADD", h.keys.queues, "q")
        let base = Envelope(kind: "k", maxAttempts: 1, payload: "{}")
        for batch in 0..<100 {
            let commands = (0..<1000).map { index -> RedisCommand in
                var envelope = base
                envelope.id = "job-\(batch * 1000 + index)"
                return RedisCommand(
                    "XADD", [key, "*"] + DeadLetter(failing: envelope, queue: "q", error: index % 2 == 0 ? "even" : "odd", now: 1).fields)
            }
            _ = try await h.pool.pipeline(commands)
        }
        #expect(try await dead.count(.init()) == 100_000)
        #expect(try await dead.count(.init(error: "odd")) == 50_000)
        let newest = try await dead.list(.init(), limit: 3)
        #expect(newest.map(\.jobID) == ["job-99999", "job-99998", "job-99997"])
        // A filter that matches only deep in the stream still finds it, page by page.
        #expect(try await dead.find("job-5")?.jobID == "job-5")
        #expect(try await dead.list(.init(error: "odd"), limit: 2).map(\.jobID) == ["job-99999", "job-99997"])
    }

    @Test func pausedQueuesTakeNoNewJobsUntilResumed() async throws {
        let h = try await Harness()
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            #expect(await eventually { (try? await h.info().consumers.count) == 1 })
            #expect(try await h.broker.setPaused("q", true))
            #expect(try await h.broker.setPaused("q", true) == false)
            // The documented bound on a pause taking effect: one flag refresh plus one fetch block
            // (200 ms in the harness), with a second of slack for a loaded machine. What is asserted
            // is that bound, so the wait is the test.
            try await Task.sleep(for: PausedQueues.interval + .milliseconds(200) + .seconds(1))
            let job = try await h.enqueue("recorded")
            let ranWhilePaused = await eventually(timeout: .seconds(2)) { (try? await h.runs()[job.id]) != nil }
            #expect(!ranWhilePaused)
            #expect(try await h.info().lag == 1)
            #expect(try await h.broker.setPaused("q", false))
            #expect(await eventually { (try? await h.runs()[job.id]) == 1 })
            consumer.stop()
            try await group.waitForAll()
        }
    }
}
