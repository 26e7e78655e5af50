import Foundation
import TestSupport
import Testing

@testable import Redis

/// Which connection of the pool a call is given: the one where it costs the fewest round trips,
/// never one stuck behind a long batch while another is free.
@Suite struct RedisPoolTests {
    /// One connection waits on a slow command (a BLPOP nothing answers yet): the next calls go to
    /// the idle one, not in turn to the busy one. (Its round trip counts as old at once here: how
    /// young a round trip must be to be waited for is the next test's.)
    @Test func aCallGoesToAnIdleConnectionNotBehindABusyOne() async throws {
        let server = try await RedisServer()
        let pool = RedisPool(endpoint: server.endpoint, size: 2, joinUnderWayFor: .zero)
        defer { pool.close() }
        try await pool.send("PING")
        let (busy, waiting) = try await Self.occupy(pool.client, until: "go")
        for _ in 0..<10 { #expect(pool.client !== busy) }
        _ = try await server.command("LPUSH", "go", "now")
        #expect(try await waiting.value == .array([.string("go"), .string("now")]))
    }

    /// A round trip under way and young (here: any younger than a minute) is waited for: a call
    /// goes in the next round trip on its connection rather than in one of its own on the idle
    /// connection — at low concurrency that halved the round trips of a burst's first calls.
    @Test func aCallWaitsForTheNextRoundTripOfAYoungOneRatherThanTakeAnIdleConnection() async throws {
        let server = try await RedisServer()
        let pool = RedisPool(endpoint: server.endpoint, size: 2, joinUnderWayFor: .seconds(60))
        defer { pool.close() }
        try await pool.send("PING")
        let (busy, waiting) = try await Self.occupy(pool.client, until: "go")
        for _ in 0..<10 { #expect(pool.client === busy) }
        let echo = Task { try await pool.send("ECHO", "after") }
        try #require(await eventually(timeout: .seconds(5), every: .milliseconds(1)) { busy.backlog.waiting == 1 })
        _ = try await server.command("LPUSH", "go", "now")
        #expect(try await waiting.value == .array([.string("go"), .string("now")]))
        #expect(try await echo.value == .string("after"))
    }

    /// Both connections busy: a call joins the one whose next batch is already gathering (one round
    /// trip for both) — until that batch is long, when calls stop piling onto it.
    @Test func aCallJoinsABatchAlreadyGatheringUntilItIsLong() async throws {
        let server = try await RedisServer()
        let pool = RedisPool(endpoint: server.endpoint, size: 2, joinUnderWayFor: .zero)
        defer { pool.close() }
        try await pool.send("PING")
        let (first, firstWaiting) = try await Self.occupy(pool.client, until: "first")
        let (second, secondWaiting) = try await Self.occupy(pool.client, until: "second")
        #expect(second !== first)

        let gathering = pool.client
        var queued: [Task<RedisValue, any Error>] = []
        for index in 0..<RedisPool.joinBelow {
            queued.append(Task { try await gathering.send("ECHO", "\(index)") })
            try #require(await eventually(timeout: .seconds(5), every: .milliseconds(1)) { gathering.backlog.waiting == index + 1 })
            if index + 1 < RedisPool.joinBelow { try #require(pool.client === gathering, "joined with \(index + 1) waiting") }
        }
        #expect(gathering.backlog.waiting == RedisPool.joinBelow)
        #expect(Set((0..<10).map { _ in ObjectIdentifier(pool.client) }).count == 2, "a long batch is not joined: calls spread")

        _ = try await server.command("LPUSH", "first", "1")
        _ = try await server.command("LPUSH", "second", "2")
        #expect(try await firstWaiting.value == .array([.string("first"), .string("1")]))
        #expect(try await secondWaiting.value == .array([.string("second"), .string("2")]))
        for (index, call) in queued.enumerated() { #expect(try await call.value == .string("\(index)")) }
    }

    /// Sends a BLPOP of `key` on `client`, once it is idle, and returns once it is under way
    /// (written, nothing waiting): the client is busy until something is pushed to `key`.
    static func occupy(_ client: RedisClient, until key: String) async throws -> (RedisClient, Task<RedisValue, any Error>) {
        try #require(await eventually(timeout: .seconds(5), every: .milliseconds(1)) { client.backlog.idle })
        let call = Task { try await client.send(RedisCommand("BLPOP", [key, "60"], blocksFor: .seconds(60))) }
        let taken = await eventually(timeout: .seconds(5), every: .milliseconds(1)) {
            client.backlog.waiting == 0 && client.backlog.underWaySince != nil
        }
        try #require(taken, "the BLPOP of \(key) was written")
        return (client, call)
    }
}
