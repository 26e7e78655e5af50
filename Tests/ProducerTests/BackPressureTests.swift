import Foundation
import TestSupport
import Testing

/// Many senders at once, a full queue, and Redis going away: nothing accepted is ever lost, and
/// nothing is enqueued twice.
@Suite struct BackPressureTests {
    /// A delivery as a sender retries it: again after each non-2xx (as Svix, Aircall and Chatwoot do).
    struct Delivery: Sendable {
        let svixID: String
        let body: String
    }

    struct Answer: Sendable {
        let svixID: String
        let status: Int
        let jobID: String?
    }

    /// Sends `deliveries` from `senders` concurrent senders; each retries a delivery on 503 until
    /// it is answered 2xx (bounded). Returns every final answer and how many 503s were seen.
    static func flood(
        _ h: ProducerHarness, _ deliveries: [Delivery], senders: Int, onProgress: @Sendable @escaping (Int) -> Void = { _ in }
    )
        async throws -> (answers: [Answer], refusals: Int)
    {
        let next = LockedValue(0)
        let refusals = LockedValue(0)
        let done = LockedValue(0)
        let answers = try await withThrowingTaskGroup(of: [Answer].self) { group in
            for _ in 0..<senders {
                group.addTask {
                    var mine: [Answer] = []
                    while true {
                        let index = next.withLock { value -> Int in
                            defer { value += 1 }; return value
                        }
                        guard index < deliveries.count else { break }
                        let delivery = deliveries[index]
                        let deadline = ContinuousClock.now + .seconds(60)
                        while true {
                            let reply = try await h.post(
                                "/webhooks/guesty", json: delivery.body,
                                headers: ProducerHarness.svixHeaders(delivery.body, id: delivery.svixID))
                            if reply.status == 202 || reply.status == 200 {
                                mine.append(
                                    Answer(
                                        svixID: delivery.svixID, status: reply.status,
                                        jobID: ProducerHarness.json(reply)["job_id"] as? String))
                                break
                            }
                            guard reply.status == 503, reply.headers["retry-after"] != nil else {
                                throw TestFailure("unexpected answer \(reply.status): \(reply.text)")
                            }
                            refusals.withLock { $0 += 1 }
                            guard ContinuousClock.now < deadline else { throw TestFailure("delivery \(delivery.svixID) never accepted") }
                            try await Task.sleep(for: .milliseconds(50))
                        }
                        onProgress(
                            done.withLock { value in
                                value += 1; return value
                            })
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        return (answers, refusals.value)
    }

    /// `count` deliveries where every tenth repeats an earlier one (a sender's retry).
    static func deliveries(_ count: Int) -> [Delivery] {
        (0..<count).map { index in
            let distinct = index % 10 == 9 ? index - 5 : index
            return Delivery(svixID: "msg_\(distinct)", body: Fixtures.guestyReservation(id: "R\(distinct)"))
        }
    }

    /// Every distinct delivery has exactly one job in the stream; every answer for it carries that job's id.
    static func expectExactlyOneJobPerDelivery(_ h: ProducerHarness, _ answers: [Answer], distinct: Int) async throws {
        let entries = try await h.entries("vectorize")
        #expect(entries.count == distinct)
        let jobByDedupe = Dictionary(entries.map { ($0["dedupe"] ?? "", $0["id"] ?? "") }, uniquingKeysWith: { first, _ in first })
        #expect(jobByDedupe.count == distinct, "one job per distinct delivery")
        for answer in answers {
            #expect(answer.jobID == jobByDedupe["guesty:\(answer.svixID)"], "answer for \(answer.svixID) names the job in the stream")
        }
    }

    @Test func aFloodWithADuplicateInEveryTenEndsWithOneJobPerDelivery() async throws {
        let h = try await ProducerHarness()
        let deliveries = Self.deliveries(500)
        let distinct = Set(deliveries.map(\.svixID)).count
        let (answers, refusals) = try await Self.flood(h, deliveries, senders: 32)
        #expect(answers.count == 500 && refusals == 0)
        #expect(answers.filter { $0.status == 202 }.count == distinct)
        #expect(answers.filter { $0.status == 200 }.count == 500 - distinct)
        try await Self.expectExactlyOneJobPerDelivery(h, answers, distinct: distinct)
    }

    @Test func redisKilledMidFloodMeans503sThenRecoveryWithNothingLost() async throws {
        // AOF with fsync on every write: whatever Redis acknowledged survives its kill -9.
        let server = try await RedisServer(aof: true)
        let h = try await ProducerHarness(server: server)
        let deliveries = Self.deliveries(600)
        let distinct = Set(deliveries.map(\.svixID)).count
        let killed = LockedValue(false)
        let (answers, refusals) = try await Self.flood(h, deliveries, senders: 16) { done in
            let kill = killed.withLock { value -> Bool in
                guard done >= 150, !value else { return false }
                value = true
                return true
            }
            if kill {
                server.stop(graceful: false)
                // Back after a second, in the background, while senders keep trying.
                Task {
                    try? await Task.sleep(for: .seconds(1))
                    try? await server.restart()
                }
            }
        }
        #expect(killed.value)
        #expect(refusals > 0, "the outage was answered with 503 + Retry-After")
        #expect(answers.count == 600)
        try await Self.expectExactlyOneJobPerDelivery(h, answers, distinct: distinct)
        #expect(h.log.count(containing: "enqueue failed, delivery refused") > 0)
    }

    /// Chatwoot never sends an account webhook twice: a delivery that meets Redis restarting waits
    /// for it, its enqueue tried again, instead of being refused — and is enqueued once.
    @Test func aDeliveryThatMeetsARestartingRedisWaitsForIt() async throws {
        let server = try await RedisServer()
        let h = try await ProducerHarness(server: server) { $0.redisWait = .seconds(20) }
        server.stop(graceful: false)
        let delivery = Task { try await h.chatwoot(Fixtures.chatwootMessage(id: 4242)) }
        #expect(await eventually { h.log.count(containing: "redis connect failed") >= 1 }, "the delivery met Redis down")
        try await server.restart()
        let reply = try await delivery.value
        #expect(reply.status == 202, "\(reply.status) \(reply.text)")
        #expect(try await h.length("retrieve") == 1)
        #expect(h.log.count(containing: "enqueue failed, delivery refused") == 0)
    }

    @Test func aQueueAtItsHighWaterMarkPushesBackWith503() async throws {
        let h = try await ProducerHarness {
            $0.highWater = 3; $0.fullRetryAfter = 17
        }
        for index in 0..<3 {
            #expect(try await h.guesty(Fixtures.guestyReservation(id: "R\(index)"), id: "msg_\(index)").status == 202)
        }
        let refused = try await h.guesty(Fixtures.guestyReservation(id: "R9"), id: "msg_9")
        #expect(refused.status == 503 && refused.headers["retry-after"] == "17")
        #expect(try await h.guesty(Fixtures.guestyReservation(id: "R0"), id: "msg_0").status == 200, "a duplicate needs no room")
        // A consumer makes room; the sender's retry is taken.
        _ = try await h.pool.send("XTRIM", h.keys.stream("vectorize"), "MAXLEN", "0")
        #expect(try await h.guesty(Fixtures.guestyReservation(id: "R9"), id: "msg_9").status == 202)
    }
}
