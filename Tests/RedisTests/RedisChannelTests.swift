import Foundation
import NIOCore
import NIOPosix
@testable import Redis
import Testing
import TestSupport

/// The event-loop connection against a real redis-server and against a server scripted to do
/// what a real one rarely does: replies split into single bytes, replies of megabytes, silence in
/// the middle of a reply, bytes that are no protocol; and a blocked read beside other commands on
/// the same event loop.
@Suite struct RedisChannelTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func connect(_ endpoint: RedisEndpoint, timeout: Duration = .seconds(5)) async throws -> RedisChannel {
        try await RedisChannel.connect(to: endpoint, on: group, connectTimeout: .seconds(2), commandTimeout: timeout)
    }

    @Test func repliesArriveInTheOrderOfTheirCommandsWhateverTheConcurrency() async throws {
        let server = try await RedisServer()
        let channel = try await Self.connect(server.endpoint)
        defer { channel.close() }
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<1000 { group.addTask { try await channel.send([RedisCommand("INCR", ["counter"])])[0].integer ?? -1 } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(Set(values) == Set(1...1000))
        let pipelined = try await channel.send([RedisCommand("SET", ["k", "v"]), RedisCommand("GET", ["k"]), RedisCommand("HGET", ["k", "f"]), RedisCommand("GET", ["nope"])])
        #expect(pipelined[0] == .status("OK") && pipelined[1] == .string("v") && pipelined[3] == .null)
        #expect(pipelined[2].errorMessage?.hasPrefix("WRONGTYPE") == true, "a server error comes back in place")
    }

    @Test func aReplySplitIntoSingleBytesIsOneReply() async throws {
        let reply = Array("*3\r\n$5\r\nhello\r\n:42\r\n*2\r\n+OK\r\n$-1\r\n".utf8)
        let server = try ScriptedServer { connection in
            guard ScriptedServer.read(connection) != nil else { return }
            for byte in reply { ScriptedServer.write(connection, [byte]); usleep(500) }
        }
        let channel = try await Self.connect(RedisEndpoint(host: "127.0.0.1", port: server.port))
        defer { channel.close() }
        let value = try await channel.send([RedisCommand("ANY")])
        #expect(value == [.array([.string("hello"), .integer(42), .array([.status("OK"), .null])])])
    }

    @Test func aReplyOfSeveralMegabytes() async throws {
        let server = try await RedisServer()
        let channel = try await Self.connect(server.endpoint)
        defer { channel.close() }
        let big = String(repeating: "abcdefghij", count: 600_000)
        _ = try await channel.send([RedisCommand("SET", ["big", big])])
        let replies = try await channel.send([RedisCommand("GET", ["big"]), RedisCommand("STRLEN", ["big"]), RedisCommand("PING")])
        #expect(replies[0].string == big)
        #expect(replies[1] == .integer(6_000_000) && replies[2] == .status("PONG"))
    }

    @Test func aServerSilentInTheMiddleOfAReplyTimesOutEveryRequestOnTheConnection() async throws {
        let server = try ScriptedServer { connection in
            guard ScriptedServer.read(connection) != nil else { return }
            ScriptedServer.write(connection, Array("$10\r\nhello".utf8))
            while ScriptedServer.read(connection) != nil {}
        }
        let channel = try await Self.connect(RedisEndpoint(host: "127.0.0.1", port: server.port), timeout: .milliseconds(300))
        func outcome(_ command: RedisCommand) async -> Result<[RedisValue], any Error> {
            do { return .success(try await channel.send([command])) } catch { return .failure(error) }
        }
        async let first = outcome(RedisCommand("GET", ["k"]))
        async let second = outcome(RedisCommand("PING"))
        for result in await [first, second] {
            guard case .failure(let error as RedisError) = result, case .connectionLost(_, _, let reason) = error else {
                Issue.record("expected a lost connection, got \(result)")
                continue
            }
            #expect(reason == "timed out", "\(error)")
        }
        #expect(await eventually { !channel.isActive })
        await #expect(throws: RedisError.self) { try await channel.send([RedisCommand("PING")]) }
    }

    @Test func aServerThatClosesMidReplyOrSpeaksNoProtocolFailsTheRequestSayingSo() async throws {
        let closing = try ScriptedServer { connection in
            guard ScriptedServer.read(connection) != nil else { return }
            ScriptedServer.write(connection, Array("*2\r\n$3\r\nab".utf8))
            ScriptedServer.hangUp(connection)
        }
        let channel = try await Self.connect(RedisEndpoint(host: "127.0.0.1", port: closing.port))
        let error = await #expect(throws: RedisError.self) { try await channel.send([RedisCommand("XRANGE", ["s", "-", "+"])]) }
        #expect(error?.description.contains("lost during XRANGE: Server closed the connection") == true, "\(String(describing: error))")

        let garbage = try ScriptedServer { connection in
            guard ScriptedServer.read(connection) != nil else { return }
            ScriptedServer.write(connection, Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))
            while ScriptedServer.read(connection) != nil {}
        }
        let confused = try await Self.connect(RedisEndpoint(host: "127.0.0.1", port: garbage.port))
        let protocolError = await #expect(throws: RedisError.self) { try await confused.send([RedisCommand("PING")]) }
        #expect(protocolError?.description.contains("protocol error") == true, "\(String(describing: protocolError))")
    }

    /// Replies with numbers no Redis sends — an integer past 64 bits, negative lengths other than
    /// -1, a length that is no number, an array of three billion elements, a bulk of three billion
    /// bytes — for this path and the blocking client's.
    static let hostileReplies = [":99999999999999999999999999\r\n", "$-7\r\n", "*-5\r\n", "$abc\r\nxyz\r\n",
                                 "*1\r\n:-9223372036854775808\r\n", ":\r\n", "*3000000000\r\n", "$3000000000\r\n"]

    /// Hostile numbers never trap the process: each reply is either read as some value or the
    /// request fails as a protocol error (or, left incomplete, times out), and the connection is
    /// not left hanging.
    @Test(arguments: RedisChannelTests.hostileReplies)
    func hostileNumbersInAReplyNeverTrapTheProcess(_ reply: String) async throws {
        let server = try ScriptedServer { connection in
            guard ScriptedServer.read(connection) != nil else { return }
            ScriptedServer.write(connection, Array(reply.utf8))
            while ScriptedServer.read(connection) != nil {}
        }
        let channel = try await Self.connect(RedisEndpoint(host: "127.0.0.1", port: server.port), timeout: .milliseconds(500))
        defer { channel.close() }
        do {
            let values = try await channel.send([RedisCommand("GET", ["k"])])
            #expect(values.count == 1)
        } catch let error as RedisError {
            guard case .connectionLost(_, let command, let reason) = error else { Issue.record("got \(error)"); return }
            #expect(command == "GET")
            #expect(reason.hasPrefix("protocol error") || reason == "timed out", "\(error)")
        }
    }

    /// A blocked XREAD holds its own connection only: on the same event loop, another connection's
    /// commands all complete while it waits (it waits until they are done and add what it reads).
    @Test func aBlockedReadDoesNotStallOtherCommandsOnTheSameLoop() async throws {
        let server = try await RedisServer()
        let blocked = try await Self.connect(server.endpoint)
        let other = try await Self.connect(server.endpoint)
        defer { blocked.close(); other.close() }
        #expect(blocked.channel.eventLoop === other.channel.eventLoop)
        async let read = blocked.send([RedisCommand("XREAD", ["BLOCK", "0", "STREAMS", "events", "$"], blocksFor: .seconds(120))])
        // Once Redis has the read blocked, a hundred commands on the other connection, then the entry it waits for.
        #expect(await eventually { ((try? await other.send([RedisCommand("INFO", ["clients"])]))?.first?.string ?? "").contains("blocked_clients:1") })
        for index in 0..<100 { #expect(try await other.send([RedisCommand("SET", ["n", String(index)])]) == [.status("OK")]) }
        #expect(try await other.send([RedisCommand("GET", ["n"])]) == [.string("99")])
        _ = try await other.send([RedisCommand("XADD", ["events", "*", "done", "1"])])
        let entries = try await read
        #expect(entries.first?.array?.first?.array?.first == .string("events"), "\(entries)")
    }

    @Test func authAndSelectAtConnectNeverNamingThePassword() async throws {
        let server = try await RedisServer(extraArguments: ["--requirepass", "s3cr:t@pass"])
        var endpoint = try RedisEndpoint(url: "redis://:s3cr%3At%40pass@127.0.0.1:\(server.port)/3")
        let channel = try await Self.connect(endpoint)
        defer { channel.close() }
        _ = try await channel.send([RedisCommand("SET", ["where", "three"])])
        #expect(try await channel.send([RedisCommand("CLIENT", ["INFO"])])[0].string?.contains("db=3") == true)
        endpoint.password = "wrong-password"
        let error = await #expect(throws: RedisError.self) { try await Self.connect(endpoint) }
        #expect(error?.isAuthenticationProblem == true && error?.description.contains("AUTH failed") == true, "\(String(describing: error))")
        #expect(error?.description.contains("wrong-password") == false && error?.description.contains("s3cr") == false)
    }
}

extension RedisValue {
    var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}
