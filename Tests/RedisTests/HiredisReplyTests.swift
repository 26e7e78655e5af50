import Redis
import TestSupport
import Testing

/// Replies are built as hiredis parses them (`HiredisReply`): every shape Redis answers with
/// arrives whole and in order, and a reply hiredis gives up on half way leaves nothing behind.
@Suite struct HiredisReplyTests {
    /// Arrays nested six deep, empty ones, nil, status and error elements, empty strings and
    /// integers, at the top level and inside arrays, one after another in a pipeline.
    @Test func everyShapeOfReplyArrivesWhole() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        let nested = """
            return {1, {}, {'a', {false, {redis.status_reply('FINE'), {{{'deep'}}}}}, 'b'}, redis.error_reply('ERR BAD'), '', -7}
            """
        let replies = try await client.pipeline([
            RedisCommand("EVAL", [nested, "0"]),
            RedisCommand("GET", ["missing"]),
            RedisCommand("SET", ["k", "v"]),
            RedisCommand("EVAL", ["return redis.error_reply('ERR TOP')", "0"]),
            RedisCommand("XRANGE", ["no-stream", "-", "+"]),
            RedisCommand("LRANGE", ["k", "0", "-1"]),
            RedisCommand("EVAL", ["return {}", "0"]),
            RedisCommand("INCR", ["n"]),
        ])
        let deep: RedisValue = .array([.array([.array([.string("deep")])])])
        #expect(
            replies[0]
                == .array([
                    .integer(1), .array([]),
                    .array([.string("a"), .array([.null, .array([.status("FINE"), deep])]), .string("b")]),
                    .error("ERR BAD"), .string(""), .integer(-7),
                ]))
        #expect(replies[1] == .null)
        #expect(replies[2] == .status("OK"))
        #expect(replies[3] == .error("ERR TOP"))
        #expect(replies[4] == .array([]))
        #expect(replies[5].array == nil, "WRONGTYPE: \(replies[5])")
        #expect(replies[6] == .array([]))
        #expect(replies[7] == .integer(1))
    }

    /// A stream read of many entries, each an array of an id and an array of fields, comes back
    /// entry by entry with every field in place.
    @Test func aLargeStreamReadArrivesEntryByEntry() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        let count = 5000
        _ = try await client.pipeline(
            (0..<count).map { RedisCommand("XADD", ["s", "*", "n", String($0), "body", String(repeating: "x", count: $0 % 40)]) })
        let reply = try await client.send("XRANGE", "s", "-", "+")
        let entries = reply.array ?? []
        #expect(entries.count == count)
        for (index, entry) in entries.enumerated() {
            let fields = entry.array?[1].array?.compactMap(\.string)
            guard fields == ["n", String(index), "body", String(repeating: "x", count: index % 40)] else {
                Issue.record("entry \(index): \(entry)")
                return
            }
        }
    }

    /// A reply broken off inside an array (a type byte no protocol has) fails that call as a lost
    /// connection; the half-built array is dropped, and the next call, on a new connection, gets
    /// its own reply and nothing of the old one.
    @Test func aReplyBrokenOffInsideAnArrayLeavesNothingBehind() async throws {
        let connections = LockedValue(0)
        let server = try ScriptedServer { connection in
            let number = connections.withLock { value -> Int in
                value += 1
                return value
            }
            guard ScriptedServer.read(connection) != nil else { return }
            let reply = number == 1 ? "*3\r\n:1\r\n*2\r\n$2\r\nab\r\n!bogus\r\n" : "*2\r\n:7\r\n+OK\r\n"
            ScriptedServer.write(connection, Array(reply.utf8))
            while ScriptedServer.read(connection) != nil {}
        }
        let client = RedisClient(endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port), commandTimeout: .seconds(2))
        defer { client.close() }
        do {
            let reply = try await client.send("GET", "k")
            Issue.record("expected a protocol error, got \(reply)")
        } catch let error as RedisError {
            guard case .connectionLost(_, let command, let reason) = error else { Issue.record("got \(error)"); return }
            #expect(command == "GET")
            #expect(reason.lowercased().contains("protocol"), "\(reason)")
        }
        let next = await eventually(timeout: .seconds(5)) {
            (try? await client.send("GET", "k")) == .array([.integer(7), .status("OK")])
        }
        #expect(next)
    }
}
