import Foundation
import Redis
import TestSupport
import Testing

@Suite struct RedisClientTests {
    @Test func typedReplies() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        #expect(try await client.send("SET", "k", "héllo") == .status("OK"))
        #expect(try await client.send("GET", "k") == .string("héllo"))
        #expect(try await client.send("GET", "missing") == .null)
        #expect(try await client.send("INCRBY", "n", "41") == .integer(41))
        #expect(try await client.send("RPUSH", "l", "a", "", "c") == .integer(3))
        #expect(try await client.send("LRANGE", "l", "0", "-1") == .array([.string("a"), .string(""), .string("c")]))
    }

    @Test func argumentsAreBinarySafeBulkStrings() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        let tricky = "line one\r\nSET injected 1\r\n\"quoted\" $5 *3 🚀"
        try await client.send("SET", "k", tricky)
        #expect(try await client.send("GET", "k").string == tricky)
        #expect(try await client.send("EXISTS", "injected") == .integer(0))
    }

    @Test func serverErrorsNameTheCommand() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        try await client.send("SET", "s", "text")
        do {
            try await client.send("INCR", "s")
            Issue.record("expected an error")
        } catch let error as RedisError {
            guard case .server(let command, let message) = error else { Issue.record("wrong error \(error)"); return }
            #expect(command == "INCR")
            #expect(message.contains("not an integer"))
            #expect(!error.isConnectionProblem)
        }
        // The connection is still usable after an error reply.
        #expect(try await client.send("PING") == .status("PONG"))
    }

    @Test func pipelineKeepsOrderAndErrorsInPlace() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        let replies = try await client.pipeline([
            RedisCommand("SET", ["a", "1"]), RedisCommand("INCR", ["a"]), RedisCommand("LPUSH", ["a", "x"]), RedisCommand("GET", ["a"]),
        ])
        #expect(replies.count == 4)
        #expect(replies[0] == .status("OK"))
        #expect(replies[1] == .integer(2))
        guard case .error(let message) = replies[2] else { Issue.record("expected WRONGTYPE, got \(replies[2])"); return }
        #expect(message.hasPrefix("WRONGTYPE"))
        #expect(replies[3] == .string("2"))
    }

    @Test func concurrentCallersShareOneConnection() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<2000 { group.addTask { try await client.send("INCR", "counter") } }
            try await group.waitForAll()
        }
        #expect(try await client.send("GET", "counter") == .string("2000"))
        let clients = try await server.command("CLIENT", "LIST").string ?? ""
        // This client plus the helper's own connection.
        #expect(clients.split(separator: "\n").count == 2)
    }

    @Test func authAndSelectFromTheURL() async throws {
        let server = try await RedisServer(extraArguments: ["--requirepass", "pa ss"])
        let client = RedisClient(endpoint: try RedisEndpoint(url: "redis://default:pa%20ss@127.0.0.1:\(server.port)/3"))
        defer { client.close() }
        try await client.send("SET", "where", "db3")
        let check = RedisClient(endpoint: try RedisEndpoint(url: "redis://:pa%20ss@127.0.0.1:\(server.port)/3"))
        defer { check.close() }
        #expect(try await check.send("GET", "where") == .string("db3"))
        let db0 = RedisClient(endpoint: try RedisEndpoint(url: "redis://:pa%20ss@127.0.0.1:\(server.port)"))
        defer { db0.close() }
        #expect(try await db0.send("GET", "where") == .null)
    }

    @Test func wrongPasswordFailsWithoutRevealingIt() async throws {
        let server = try await RedisServer(extraArguments: ["--requirepass", "right"])
        let client = RedisClient(endpoint: try RedisEndpoint(url: "redis://:wrong-secret@127.0.0.1:\(server.port)"))
        defer { client.close() }
        do {
            try await client.send("PING")
            Issue.record("expected an error")
        } catch let error as RedisError {
            guard case .unavailable = error else { Issue.record("expected unavailable, got \(error)"); return }
            #expect(error.description.contains("AUTH failed"))
            #expect(error.description.contains("127.0.0.1:\(server.port)"))
            #expect(!error.description.contains("wrong-secret"))
        }
    }

    @Test func nothingListeningFailsFastAndBacksOff() async throws {
        let closed = try ClosedPort()
        let port = closed.port
        let log = LogCapture()
        let client = RedisClient(endpoint: RedisEndpoint(host: "127.0.0.1", port: port), logger: log.logger)
        defer { client.close() }
        var failures = 0
        for _ in 0..<50 {
            do { try await client.send("PING") } catch let error as RedisError {
                #expect(error.isConnectionProblem)
                #expect(error.description.contains("127.0.0.1:\(port)"))
                failures += 1
            }
        }
        #expect(failures == 50)
        // Calls inside the backoff window fail without a connect attempt: a handful of attempts
        // (spaced 50 ms, 100 ms, 200 ms …) served all 50 calls, however slowly the machine ran.
        let attempts = log.count(containing: "redis connect failed")
        #expect(attempts >= 1 && attempts <= 10, "\(attempts) connect attempts for 50 calls")
        withExtendedLifetime(closed) {}
    }

    @Test func commandTimeoutDropsTheConnectionAndTheNextCallReconnects() async throws {
        let server = try await RedisServer(extraArguments: ["--enable-debug-command", "local"])
        let client = RedisClient(endpoint: server.endpoint, commandTimeout: .milliseconds(200))
        defer { client.close() }
        do {
            try await client.send("DEBUG", "SLEEP", "1")
            Issue.record("expected a timeout")
        } catch let error as RedisError {
            guard case .connectionLost(_, let command, let reason) = error else { Issue.record("got \(error)"); return }
            #expect(command == "DEBUG")
            #expect(reason.contains("timed out"))
        }
        let recovered = await eventually(timeout: .seconds(5)) {
            (try? await client.send("PING")) == .status("PONG")
        }
        #expect(recovered)
    }

    /// The client writes each batch to the socket itself: a command far larger than the socket's
    /// buffers goes out whole, in as many writes as it takes; against a frozen server the write
    /// times out, the half-sent command is never run, and the next call reconnects.
    @Test func aCommandLargerThanTheSocketBuffersIsWrittenWholeOrNotRunAtAll() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint, commandTimeout: .milliseconds(300))
        defer { client.close() }
        let big = String(repeating: "0123456789abcdef", count: 1 << 20)
        try await client.send("SET", "big", big)
        #expect(try await client.send("STRLEN", "big") == .integer(big.utf8.count))
        #expect(try await client.send("GETRANGE", "big", "16777200", "16777215").string == "0123456789abcdef")

        // Frozen (SIGSTOP) rather than stalled for a while: in force at once and for as long as
        // the write takes, however loaded the machine.
        server.freeze()
        // Larger than the kernel's buffers can hold between them: a loopback receive buffer may
        // grow to tcp_rmem's maximum (32 MiB on this VM) and the send buffer to tcp_wmem's, and a
        // command that fits whole is sent whole, times out waiting for its reply, and runs later.
        let buffers = Self.socketBufferMaximum("tcp_rmem") + Self.socketBufferMaximum("tcp_wmem")
        let bigger = String(repeating: big, count: buffers / big.utf8.count + 2)
        do {
            defer { server.thaw() }
            try await client.send("SET", "half-sent", bigger)
            Issue.record("expected the write to time out against a frozen server")
        } catch let error as RedisError {
            guard case .connectionLost(_, let command, let reason) = error else { Issue.record("got \(error)"); return }
            #expect(command == "SET")
            #expect(reason.contains("timed out"))
        }
        let recovered = await eventually(timeout: .seconds(5)) {
            (try? await client.send("PING")) == .status("PONG")
        }
        #expect(recovered)
        #expect(try await client.send("EXISTS", "half-sent") == .integer(0))
        #expect(try await client.send("STRLEN", "big") == .integer(big.utf8.count))
    }

    /// The largest a TCP socket buffer may grow to (`/proc/sys/net/ipv4/<name>`'s third figure).
    static func socketBufferMaximum(_ name: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/\(name)", encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) } ?? (32 << 20)
    }

    @Test func blockingCommandsGetTheirBlockTimeOnTopOfTheTimeout() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint, commandTimeout: .milliseconds(200))
        defer { client.close() }
        let reply = try await client.send(RedisCommand("BLPOP", ["nothing", "0.6"], blocksFor: .milliseconds(600)))
        #expect(reply == .null)
    }

    @Test func reconnectsAfterTheServerRestarts() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        try await client.send("SET", "a", "1")
        server.stop(graceful: false)
        await #expect(throws: RedisError.self) { try await client.send("PING") }
        try await server.restart()
        let back = await eventually(timeout: .seconds(10)) { (try? await client.send("PING")) == .status("PONG") }
        #expect(back)
        // Killed and back while the client sat idle: its first command is answered at once.
        server.stop(graceful: false)
        try await server.restart()
        #expect(
            try await client.send("PING") == .status("PONG"), "the connection the restart closed is replaced before the command goes out")
    }

    /// A connection the server closed while it sat idle (Redis's `timeout`, a proxy) is replaced
    /// before the next command is written on it, so that command succeeds the first time instead
    /// of failing as a lost connection.
    @Test func aConnectionClosedWhileIdleIsReplacedBeforeTheNextCommand() async throws {
        let server = try await RedisServer()
        let log = LogCapture()
        let client = RedisClient(endpoint: server.endpoint, logger: log.logger)
        defer { client.close() }
        let first = try #require(try await client.send("CLIENT", "ID").integer)
        _ = try await server.command("CONFIG", "SET", "timeout", "1")
        // Redis closes a connection idle past its timeout at its next check, a second or so later.
        let closed = await eventually(timeout: .seconds(10)) {
            !((try? await server.command("CLIENT", "LIST").string) ?? "id=\(first) ").contains("id=\(first) ")
        }
        #expect(closed)
        #expect(try await client.send("PING") == .status("PONG"))
        #expect(log.count(containing: "redis closed the idle connection") == 1)
        #expect(log.count(containing: "redis connection lost") == 0)
    }

    /// Replies whose numbers no length or count can be: too large, negative, empty, not numbers.
    static let hostileReplies = [
        ":99999999999999999999999999\r\n", "$-7\r\n", "*-5\r\n", "$abc\r\nxyz\r\n",
        "*1\r\n:-9223372036854775808\r\n", ":\r\n", "*3000000000\r\n", "$3000000000\r\n",
        "*2000000000\r\n", "*2\r\n*2147483647\r\n",
        // Nested past hiredis' depth limit: refused half-built, the open arrays dropped.
        String(repeating: "*1\r\n", count: 12) + ":1\r\n",
    ]

    /// A server (or something that is not Redis at all) answering with hostile numbers never traps
    /// the process: the reply is read as some value, or the command fails as a lost connection
    /// within its timeout.
    @Test(arguments: RedisClientTests.hostileReplies)
    func hostileNumbersInAReplyNeverTrapTheProcess(_ reply: String) async throws {
        let server = try ScriptedServer { connection in
            guard ScriptedServer.read(connection) != nil else { return }
            ScriptedServer.write(connection, Array(reply.utf8))
            while ScriptedServer.read(connection) != nil {}
        }
        let client = RedisClient(endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port), commandTimeout: .milliseconds(300))
        defer { client.close() }
        let started = ContinuousClock.now
        do {
            _ = try await client.pipeline([RedisCommand("GET", ["k"])])
        } catch let error as RedisError {
            guard case .connectionLost(_, let command, _) = error else { Issue.record("got \(error)"); return }
            #expect(command == "GET")
        }
        #expect(ContinuousClock.now - started < .seconds(10), "the call ended within its timeout and the reply's cleanup")
    }

    /// A server that sends a reply nothing asked for (after a real one, in the same write) would
    /// have the next caller read another's reply: the connection is dropped instead, and the next
    /// command is answered on a new one, by its own reply.
    @Test func aReplyNothingAskedForEndsTheConnectionBeforeAnyoneReadsIt() async throws {
        let answered = LockedValue(0)
        let server = try ScriptedServer { connection in
            while ScriptedServer.read(connection) != nil {
                let first = answered.withLock { count -> Bool in
                    count += 1
                    return count == 1
                }
                ScriptedServer.write(connection, Array((first ? "+FIRST\r\n+STRAY\r\n" : "+AGAIN\r\n").utf8))
            }
        }
        let log = LogCapture()
        let client = RedisClient(endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port), logger: log.logger)
        defer { client.close() }
        #expect(try await client.send("PING") == .status("FIRST"))
        #expect(try await client.send("PING") == .status("AGAIN"), "answered on a new connection, not by the stray reply")
        #expect(log.count(containing: "a reply to nothing asked") == 1)
    }

    /// 300 concurrent calls ride the pool's own connections, never more than its size. (Which
    /// connection each call takes is `RedisPoolTests`': calls join a batch already gathering, so a
    /// burst no longer opens every connection.)
    @Test func poolCarriesConcurrentCallsOnItsOwnConnections() async throws {
        let server = try await RedisServer()
        let pool = RedisPool(endpoint: server.endpoint, size: 3)
        defer { pool.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<300 { group.addTask { try await pool.send("INCR", "n") } }
            try await group.waitForAll()
        }
        #expect(try await pool.send("GET", "n") == .string("300"))
        let clients = try await server.command("CLIENT", "LIST").string ?? ""
        #expect((2...4).contains(clients.split(separator: "\n").count), "the pool's connections and this one")
    }

    @Test func closedClientRefusesCalls() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint)
        try await client.send("PING")
        client.close()
        await #expect(throws: RedisError.closed) { try await client.send("PING") }
    }

    /// Closing the client refuses new calls at once, yet the round trip under way (a BLPOP) still
    /// gets its reply; then the thread ends the connection.
    @Test func closingLetsTheRoundTripUnderWayFinishThenEndsTheConnection() async throws {
        let server = try await RedisServer()
        let client = RedisClient(endpoint: server.endpoint)
        let id = try #require(try await client.send("CLIENT", "ID").integer)
        let blocked = Task { try await client.send(RedisCommand("BLPOP", ["go", "30"], blocksFor: .seconds(30))) }
        let written = await eventually(timeout: .seconds(5), every: .milliseconds(2)) {
            let clients = (try? await server.command("CLIENT", "LIST").string) ?? ""
            return clients.split(separator: "\n").contains { $0.hasPrefix("id=\(id) ") && $0.contains("cmd=blpop") }
        }
        try #require(written, "the BLPOP is under way")
        client.close()
        await #expect(throws: RedisError.closed) { try await client.send("PING") }
        _ = try await server.command("LPUSH", "go", "now")
        #expect(try await blocked.value == .array([.string("go"), .string("now")]))
        let ended = await eventually(timeout: .seconds(5)) {
            !((try? await server.command("CLIENT", "LIST").string) ?? "id=\(id) ").contains("id=\(id) ")
        }
        #expect(ended, "the connection is closed once nothing is owed on it")
    }

    /// Every connection of the client is cut again and again while 2,000 writes are under way:
    /// each call either succeeds or fails as a connection problem, a failed one succeeds when tried
    /// again, and every write is there at the end — none lost, none refused for another reason.
    @Test func reconnectUnderLoadLosesNothing() async throws {
        let server = try await RedisServer()
        let log = LogCapture()
        let client = RedisClient(endpoint: server.endpoint, logger: log.logger)
        defer { client.close() }
        let otherErrors = LockedValue<[String]>([])
        // The writers go on until every cut was made (at least 100 writes each), so the cuts
        // always meet writes under way, however fast the machine.
        let cutting = LockedValue(true)
        let written = LockedValue(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for _ in 0..<10 {
                    try await Task.sleep(for: .milliseconds(40))
                    _ = try await server.command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
                }
                cutting.withLock { $0 = false }
            }
            for writer in 0..<20 {
                group.addTask {
                    var item = 0
                    var failed = false
                    // A write that failed may still have run: it is tried again even once the cuts
                    // are over, so the set holds exactly the writes counted.
                    while failed || item < 100 || cutting.value {
                        do {
                            try await client.send("SADD", "written", "\(writer)-\(item)")
                            item += 1
                            failed = false
                        } catch let error as RedisError where error.isConnectionProblem {
                            failed = true
                            try await Task.sleep(for: .milliseconds(5))
                        } catch {
                            otherErrors.withLock { $0.append("\(error)") }
                            return
                        }
                    }
                    written.withLock { $0 += item }
                }
            }
            try await group.waitForAll()
        }
        #expect(otherErrors.value.isEmpty, "\(otherErrors.value)")
        // Counted on a connection of its own: the last cut may have come after the last write,
        // and the client learns of a connection closed while idle only from its next command.
        #expect(written.value >= 2000)
        let stored = try await server.command("SCARD", "written")
        #expect(stored == .integer(written.value), "\(stored) stored, \(written.value) written")
        #expect(log.count(containing: "redis reconnected") >= 1, "the connection was cut at least once under load")
    }

    /// A server that became a replica answers a write with READONLY: the client stops using that
    /// connection, yet the replies already owed on it (other callers' reads) still arrive, and the
    /// next command runs on a new connection.
    @Test func aReadOnlyReplyRetiresTheConnectionAfterTheRepliesItOwes() async throws {
        let primary = try await RedisServer()
        let replica = try await RedisServer()
        _ = try await replica.command("REPLICAOF", "127.0.0.1", String(primary.port))
        let log = LogCapture()
        let client = RedisClient(endpoint: replica.endpoint, logger: log.logger)
        defer { client.close() }
        let before = try await client.send("CLIENT", "ID")
        let results = try await withThrowingTaskGroup(of: RedisValue?.self) { group in
            group.addTask {
                do { return try await client.send("SET", "k", "v") } catch let error as RedisError { return .error(error.description) }
            }
            for _ in 0..<50 { group.addTask { try await client.send("GET", "k") } }
            return try await group.reduce(into: [RedisValue?]()) { $0.append($1) }
        }
        #expect(results.contains { $0?.errorMessage?.contains("READONLY") == true }, "the write was refused as a replica would")
        #expect(results.filter { $0 == .null }.count == 50, "every read on the retired connection got its reply")
        let after = try await client.send("CLIENT", "ID")
        #expect(after != before, "the next command ran on a new connection")
        #expect(log.count(containing: "no longer the master") == 1)
    }
}

extension RedisValue {
    var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}
