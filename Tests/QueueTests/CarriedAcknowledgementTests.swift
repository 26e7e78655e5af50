import Foundation
import Redis
import TestSupport
import Testing

@testable import Queue

/// Acknowledgements the fetcher carries ahead of its next read (`Broker.readCarrying`): written and
/// read in one round trip; one refused leaves its entries pending for the acknowledger to write.
@Suite struct CarriedAcknowledgementTests {
    /// Delivers `count` entries of queue `q` to `consumer` and returns them.
    func deliver(_ h: Harness, count: Int, to consumer: String, on client: RedisClient) async throws -> [StreamEntry] {
        try await h.broker.ensureGroup("q", consumer: consumer)
        let read = try await h.broker.read("q", consumer: consumer, count: count, block: nil, on: client)
        try #require(read.count == count)
        return read
    }

    @Test func theAcknowledgementIsWrittenBeforeTheReadInOneGo() async throws {
        let h = try await Harness()
        let client = RedisClient(endpoint: h.server.endpoint)
        defer { client.close() }
        for _ in 0..<10 { _ = try await h.enqueue("recorded") }
        let first = try await deliver(h, count: 4, to: "c", on: client)
        try await h.pool.send("SCRIPT", "LOAD", Scripts.ack.source)

        let read = try await h.broker.readCarrying(
            ["q": first.map { Broker.Finished(entryID: $0.id) }], queue: "q", consumer: "c", count: 6, on: client)
        #expect(read.acknowledged["q"] == .success(4))
        #expect(read.entries.count == 6)
        #expect(Set(read.entries.map(\.id)).isDisjoint(with: first.map(\.id)))
        #expect(try await h.info().pending == 6, "only the entries just read are pending")
        #expect(try await h.length() == 6, "the acknowledged entries are deleted")
    }

    /// Redis forgot the script (a restart, `SCRIPT FLUSH`): the carried acknowledgement fails as
    /// such, the read still happens, and the entries stay pending until the acknowledger (which
    /// loads the script again) writes them.
    @Test func aRefusedAcknowledgementLeavesItsEntriesPendingAndTheReadStands() async throws {
        let h = try await Harness()
        let client = RedisClient(endpoint: h.server.endpoint)
        defer { client.close() }
        for _ in 0..<6 { _ = try await h.enqueue("recorded") }
        let first = try await deliver(h, count: 3, to: "c", on: client)
        try await h.pool.send("SCRIPT", "FLUSH")

        let finished = first.map { Broker.Finished(entryID: $0.id) }
        let read = try await h.broker.readCarrying(["q": finished], queue: "q", consumer: "c", count: 3, on: client)
        guard case .failure(let error) = read.acknowledged["q"] else {
            Issue.record("expected the acknowledgement to fail, got \(String(describing: read.acknowledged["q"]))")
            return
        }
        #expect(error.serverCode == "NOSCRIPT")
        #expect(read.entries.count == 3)
        #expect(try await h.info().pending == 6)

        #expect(try await h.broker.ack("q", consumer: "c", finished: finished) == 3)
        #expect(try await h.info().pending == 3)
        #expect(try await h.length() == 3)
    }

    /// Scripts flushed every 25 jobs while 1,500 run at low concurrency, where most
    /// acknowledgements ride with reads (a handful of carried ones are refused each run, as the
    /// debug log shows): every job runs once, and none is left pending.
    @Test func jobsRunOnceWhileCarriedAcknowledgementsAreRefused() async throws {
        let h = try await Harness()
        var ids: Set<String> = []
        for _ in 0..<1500 { ids.insert(try await h.enqueue("recorded").id) }
        let consumer = h.consumer(JobRegistry([TestKinds.recorded(runsKey: h.runsKey)]), concurrency: 8)
        try await h.running([consumer]) {
            for step in 1...50 {
                #expect(await eventually(timeout: .seconds(20), every: .milliseconds(1)) { (try? await h.runs().count) ?? 0 >= step * 25 })
                try await h.pool.send("SCRIPT", "FLUSH")
            }
            #expect(
                await eventually(timeout: .seconds(30)) {
                    let runs = try? await h.runs().count
                    let length = try? await h.length()
                    return runs == 1500 && length == 0
                })
        }
        let runs = try await h.runs()
        #expect(Set(runs.keys) == ids)
        #expect(runs.values.allSatisfy { $0 == 1 })
        #expect(try await h.info().pending == 0)
    }
}
