import Foundation
import Redis
import TestSupport
import Testing

/// The console holds against the browser it runs in and against guessing: only the names it is
/// served as, sign-in guesses slowed and told, a signed-out session over on the server, no text
/// of a stranger's on its pages, and a page's cost not growing with the dead letters.
@Suite struct ConsoleTrustTests {
    /// DNS rebinding: a page of an attacker's, its name pointed at 127.0.0.1, sends its own name
    /// as Host. A loopback console with no sign-in answers only its own names.
    @Test func aLoopbackConsoleAnswersOnlyItsOwnNames() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let (console, port) = try await SwitchboardProcess.serving { port in ["console"] + h.common + ["--port", String(port)] }
        defer { if console.isRunning { console.signal(SIGKILL) } }
        for host in ["127.0.0.1:\(port)", "localhost:\(port)", "LOCALHOST", "[::1]:\(port)"] {
            let page = try await LoopbackHTTP.send(port: port, method: "GET", path: "/flows", headers: [("Host", host)])
            #expect(page.status == 200, "\(host): \(page.status)")
        }
        for host in [
            "rebind.attacker.example", "rebind.attacker.example:\(port)", "127.0.0.1.attacker.example", "localhost.attacker.example",
        ] {
            let page = try await LoopbackHTTP.send(port: port, method: "GET", path: "/flows", headers: [("Host", host)])
            #expect(page.status == 421 && !page.text.contains("chat.retrieve"), "\(host): \(page.status)")
            let action = try await LoopbackHTTP.send(
                port: port, path: "/queues/diagnostics/pause", headers: [("Host", host), ("Origin", "http://\(host)")])
            #expect(action.status == 421, "\(host)")
        }
        #expect(try await h.client.send("SMEMBERS", h.key("paused")).array?.isEmpty ?? true, "nothing was paused")
        console.signal(SIGTERM)
        #expect(await console.waitForExit() == 0)
    }

    /// Wrong tokens, by the form or as a Bearer header, are slowed per client (then answered 429
    /// with Retry-After, unchecked), each refusal logged with the client's address and counted in
    /// /metrics.
    @Test func wrongTokensAreThrottledLoggedAndCounted() async throws {
        let metricsPort = try FreePort.find()
        let c = try await ConsoleHarness(arguments: ["--metrics-port", String(metricsPort)])
        var answers: [Int] = []
        for guess in 0..<12 {
            let reply =
                guess % 2 == 0
                ? try await c.post("/login", form: [("token", "guess-\(guess)-0123456789abcdef"), ("next", "/")])
                : try await c.get("/dead", headers: [("Authorization", "Bearer guess-\(guess)")])
            answers.append(reply.status)
            if reply.status == 429 { #expect(Int(reply.headers["retry-after"] ?? "") ?? 0 >= 1, "\(reply.headers)") }
        }
        #expect(answers.prefix(10).allSatisfy { $0 == 401 } && answers.suffix(2).allSatisfy { $0 == 429 }, "\(answers)")
        // Held back, even the right token is not checked for a while; a session already made is untouched.
        let right = try await c.post("/login", form: [("token", ConsoleHarness.token), ("next", "/")])
        #expect(right.status == 429 && right.cookie("switchboard_session") == nil)
        #expect(
            await eventually { c.console.log.components(separatedBy: "console sign-in refused").count - 1 >= 13 },
            "\(c.console.log.suffix(2000))")
        #expect(
            c.console.log.contains("client=127.0.0.1") && c.console.log.contains("a wrong Bearer token"), "\(c.console.log.suffix(2000))")
        let metrics = try await LoopbackHTTP.send(port: metricsPort, method: "GET", path: "/metrics")
        let lines = metrics.text.split(separator: "\n").filter { $0.hasPrefix("switchboard_console_signin_refusals_total") }
        #expect(lines.contains { $0.contains("reason=\"wrong_token\"") && $0.hasSuffix(" 5") }, "\(lines)")
        #expect(lines.contains { $0.contains("reason=\"wrong_bearer_token\"") && $0.hasSuffix(" 5") }, "\(lines)")
        #expect(lines.contains { $0.contains("reason=\"throttled\"") }, "\(lines)")
        await c.stop()
    }

    /// Signing out ends the session on the server: a copy of its cookie opens nothing after.
    @Test func aSignedOutSessionIsOverEvenForACopyOfItsCookie() async throws {
        let c = try await ConsoleHarness()
        let session = try await c.signInWithToken()
        let copy = session
        let page = try await c.get("/dead", cookie: session)
        #expect(page.status == 200)
        let csrf = try #require(ConsoleHarness.csrf(page))
        let out = try await c.post("/logout", form: [("csrf", csrf)], cookie: session)
        #expect(out.status == 303 && out.headers["location"] == "/login")
        let again = try await c.get("/dead", cookie: copy)
        #expect(again.status == 303 && again.headers["location"]?.hasPrefix("/login") == true, "the copied cookie: \(again.status)")
        let action = try await c.post("/dead/retry", form: [("csrf", csrf), ("scope", "all")], cookie: copy)
        #expect(action.status == 401)
        // Another session of the same operator is its own.
        let other = try await c.signInWithToken()
        #expect(try await c.get("/dead", cookie: other).status == 200)
        await c.stop()
    }

    /// A provider's error comes back through the browser, where anyone can write it: only the
    /// console's own words for the codes OAuth defines are shown.
    @Test func aSignInErrorShowsOnlyTheConsolesOwnText() async throws {
        let provider = try await FakeOpenIDProvider(users: ["ada": .init(password: "ada-pass", roles: ["switchboard-operator"])])
        let c = try await ConsoleHarness(provider: provider, token: false)
        let start = try await c.get("/auth/start?next=/dead")
        let pending = try #require(start.cookie("switchboard_signin"))
        let lure = "Your+account+is+locked.+Call+%2B1+555+0100+now"
        for (code, shown) in [("access_denied", "access was denied."), ("made_up_code", "for a reason it did not name")] {
            let reply = try await c.get(
                "/auth/callback?error=\(code)&error_description=\(lure)&state=x", headers: [("Cookie", "switchboard_signin=\(pending)")])
            #expect(reply.status == 401 && reply.text.contains(shown), "\(reply.text.prefix(1500))")
            #expect(!reply.text.contains("locked") && !reply.text.contains("555") && !reply.text.contains("made_up_code"))
        }
        // The provider's JWKS lists keys jwt-kit does not know beside its signing key: skipped, and Ada signs in.
        let ada = try await c.signIn(as: "ada", password: "ada-pass")
        #expect(ada.status == 303 && ada.cookie("switchboard_session") != nil, "\(ada.text.prefix(500))")
        #expect(c.console.log.contains("is skipped"), "\(c.console.log.suffix(2000))")
        await c.stop()
    }

    /// 2,500 dead letters: the page reads the newest 2,000 of the queue at most, and says the
    /// count is a floor; a queue filter alone is counted exactly from the stream's length.
    @Test func theDeadLettersPageReadsABoundedNumberOfLetters() async throws {
        let c = try await ConsoleHarness()
        let session = try await c.signInWithToken()
        for index in 0..<2500 {
            _ = try await c.h.client.send(
                RedisCommand(
                    "XADD",
                    [
                        c.h.key("diagnostics:dead"), "*", "id", "job-\(index)", "kind", "fail", "attempt", "1",
                        "max_attempts", "1", "enqueued_at", "1", "payload", "{}", "error", "boom \(index)",
                        "queue", "diagnostics",
                    ]))
        }
        let exact = try await c.get("/dead?queue=diagnostics", cookie: session)
        #expect(exact.text.contains("<span id=\"dead-count\">2500</span> matching,"), "\(exact.text.prefix(4000))")
        let filtered = try await c.get("/dead?queue=diagnostics&error=boom", cookie: session)
        #expect(
            filtered.text.contains("<span id=\"dead-count\">2000 or more</span> matching (among the newest 2000 of each queue)"),
            "\(filtered.text.prefix(4000))")
        #expect(filtered.text.contains("job-2499") && !filtered.text.contains("job-2399<"), "the newest 100 shown")
        await c.stop()
    }

    /// A queue whose name holds `/` (or `&`, `#`) opens, and is linked as itself.
    @Test func aQueueWhoseNameHoldsASlashOpens() async throws {
        let c = try await ConsoleHarness()
        let session = try await c.signInWithToken()
        _ = try await c.h.client.send("SADD", c.h.key("queues"), "team/a&b")
        let overview = try await c.get("/", cookie: session)
        #expect(overview.text.contains("href=\"/queues/team%2Fa%26b\""), "\(overview.text.prefix(3000))")
        let queue = try await c.get("/queues/team%2Fa%26b", cookie: session)
        #expect(queue.status == 200 && queue.text.contains("team/a&amp;b"), "\(queue.status) \(queue.text.prefix(1000))")
        await c.stop()
    }
}
