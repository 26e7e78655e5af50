import Foundation
import Redis
import TestSupport
import Testing

@testable import Console

/// The console as a process, over real HTTP: signing in (token, Keycloak), what viewers and
/// operators may do, the audit, and every bad input answered clearly with nothing changed.
@Suite struct ConsoleTests {
    @Test func aTokenSignsInAndOperatesAndEveryActionIsAudited() async throws {
        let c = try await ConsoleHarness()
        try await c.makeDeadLetters(3)
        // Not signed in: the sign-in page.
        let anonymous = try await c.get("/")
        #expect(anonymous.status == 303 && anonymous.headers["location"] == "/login?next=%2F")
        #expect(try await c.post("/login", form: [("token", "not-the-token-at-all"), ("next", "/")]).status == 401)
        let session = try await c.signInWithToken()
        // The page sums the hour before its own minute: seeded and read within one minute (seeded
        // again if a minute began in between, which moved the window by one).
        var seeded = (processed: 0, failed: 0)
        var overview = try await c.get("/", cookie: session)
        for _ in 0..<3 {
            let minute = Int(Date().timeIntervalSince1970) / 60
            seeded = try await c.seedMinutes("retrieve", processed: { 100 + $0 }, failed: { $0 % 10 == 0 ? 2 : 0 })
            overview = try await c.get("/", cookie: session)
            if Int(Date().timeIntervalSince1970) / 60 == minute { break }
        }
        #expect(
            overview.text.contains("title=\"\(seeded.processed) in the last hour\"><svg")
                && overview.text.contains("title=\"\(seeded.failed) in the last hour\"><svg"))
        #expect(overview.status == 200)
        #expect(overview.text.contains("data-queue=\"diagnostics\""), "\(overview.text.prefix(3000))")
        #expect(overview.headers["content-security-policy"]?.contains("script-src 'self'") == true)
        #expect(overview.text.contains("href=\"/dead?queue=diagnostics\">3</a>") && !overview.text.contains("href=\"/dead?queue=blobs\""))
        // The live refresh asks for the page's main part alone.
        let fragment = try await c.get("/", cookie: session, headers: [("X-Console-Fragment", "1")])
        #expect(fragment.status == 200 && !fragment.text.contains("<html") && fragment.text.contains("data-queue=\"diagnostics\""))

        // Retry one letter from its page, with the page's CSRF token.
        let list = try await c.get("/dead?queue=diagnostics", cookie: session)
        #expect(list.text.contains("<span id=\"dead-count\">3</span>"), "\(list.text.prefix(4000))")
        let csrf = try #require(ConsoleHarness.csrf(list))
        let entries = try await c.h.client.send("XRANGE", c.h.key("diagnostics:dead"), "-", "+").array ?? []
        let entry = try #require(entries.first?.array?.first?.string)
        let retried = try await c.post(
            "/dead/retry", form: [("csrf", csrf), ("scope", "selected"), ("selected", "diagnostics/\(entry)")], cookie: session)
        #expect(
            retried.status == 303 && retried.headers["location"]?.hasPrefix("/dead?notice=retried%201%20of%201") == true,
            "\(retried.headers)")
        #expect(try await c.h.integer("XLEN", c.h.key("diagnostics:dead")) == 2)
        #expect(try await c.h.integer("XLEN", c.h.key("diagnostics:stream")) == 1)
        // The page it leads back to says what was done; a link of anyone else's cannot say anything.
        let back = try await c.get(try #require(retried.headers["location"]), cookie: session)
        #expect(back.text.contains("<p class=\"flash ok\" role=\"status\">retried 1 of 1</p>"), "\(back.text.prefix(2000))")
        let forged = try await c.get("/dead?notice=Your%20session%20expired%3A%20sign%20in%20at%20evil.example&mark=AAAA", cookie: session)
        #expect(forged.status == 200 && !forged.text.contains("evil.example"))
        // Drop all that match; a script with the bearer token pauses a queue.
        let dropped = try await c.post("/dead/drop", form: [("csrf", csrf), ("scope", "all"), ("queue", "diagnostics")], cookie: session)
        #expect(dropped.status == 303 && dropped.headers["location"]?.contains("dropped%202%20of%202") == true, "\(dropped.headers)")
        #expect(try await c.h.integer("XLEN", c.h.key("diagnostics:dead")) == 0)
        let paused = try await c.post("/queues/diagnostics/pause", form: [], headers: [("Authorization", "Bearer \(ConsoleHarness.token)")])
        #expect(paused.status == 303)
        #expect(try await c.h.integer("SISMEMBER", c.h.key("paused"), "diagnostics") == 1)

        let audit = try await c.get("/audit", cookie: session)
        let rows = audit.text.components(separatedBy: "<tr>").filter { $0.contains("<td>") }
        #expect(rows.count == 3, "\(audit.text)")
        #expect(rows[0].contains("<td>token</td>") && rows[0].contains("<td>pause</td>") && rows[0].contains("<td>diagnostics</td>"))
        #expect(rows[1].contains("<td>admin</td>") && rows[1].contains("<td>dead.drop</td>") && rows[1].contains(">2</td>"))
        #expect(rows[2].contains("<td>dead.retry</td>") && rows[2].contains(">1</td>"))
        await c.stop()
    }

    /// The pages an operator reads beside the dead letters: a queue's jobs, the schedule (and
    /// running an entry now), a trace, the consumers, the stage graph.
    @Test func theQueueScheduleTraceConsumersAndStagesPages() async throws {
        let schedule = ConsoleTests.repository.appendingPathComponent("schedule.json").path
        let c = try await ConsoleHarness(arguments: ["--schedule", schedule])
        let session = try await c.signInWithToken()
        let consumer = try c.h.consumer(["--queues", "diagnostics", "--concurrency", "1", "--grace-period", "1"])
        try await c.h.enqueue(kind: "sleep", payload: #"{"ms": 20000}"#, count: 2)
        #expect(await eventually { (try? await c.h.pendingCount()) == 1 })
        let queue = try await c.get("/queues/diagnostics", cookie: session)
        #expect(queue.status == 200)
        let running = queue.text.components(separatedBy: "<h2>Waiting</h2>")
        let name = try await c.h.consumerNames().first ?? "?"
        #expect(running.count == 2 && running[0].contains(">sleep</td>") && running[0].contains(name), "\(queue.text)")
        #expect(running.last?.contains(">sleep</td>") == true, "one waits behind the running one")
        let csrf = try #require(ConsoleHarness.csrf(queue))
        #expect(try await c.post("/queues/diagnostics/pause", form: [("csrf", csrf)], cookie: session).status == 303)
        #expect(try await c.get("/queues/diagnostics", cookie: session).text.contains("id=\"toggle-pause\">Resume</button>"))
        #expect(try await c.post("/queues/diagnostics/resume", form: [("csrf", csrf)], cookie: session).status == 303)
        #expect(try await c.h.integer("SISMEMBER", c.h.key("paused"), "diagnostics") == 0)

        let schedules = try await c.get("/schedules", cookie: session)
        #expect(schedules.status == 200 && schedules.text.contains("data-schedule=\"retention\""), "\(schedules.text)")
        #expect(schedules.text.contains("No scheduler leads"))
        let ran = try await c.post("/schedules/retention/run", form: [("csrf", csrf)], cookie: session)
        #expect(
            ran.status == 303 && ran.headers["location"]?.hasPrefix("/schedules?notice=enqueued%20privacy.retention") == true,
            "\(ran.headers)")
        #expect(try await c.h.integer("XLEN", c.h.key("privacy:stream")) == 1)
        #expect(try await c.post("/schedules/nope/run", form: [("csrf", csrf)], cookie: session).status == 404)
        let fired = try await c.get("/schedules", cookie: session)
        #expect(fired.text.contains("/trace?id="), "the entry's last job links to its trace")

        let consumers = try await c.get("/consumers", cookie: session)
        #expect(consumers.text.contains(name) && consumers.text.contains("diagnostics"))
        #expect(consumers.text.contains("No autoscaler has decided lately"))
        // What the autoscaler recorded: each service's replicas and the replicas it wants.
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let snapshot =
            #"{"by":"mgr-1","at":\#(now),"services":[{"service":"sb_llm","current":2,"wanted":4,"minimum":1,"maximum":6,"queues":["retrieve","generate"],"reason":"over_target","waiting":120,"oldestWaiting":14000}]}"#
        try await c.h.client.send("SET", c.h.key("autoscale:state"), snapshot, "PX", "60000")
        let scaled = try await c.get("/consumers", cookie: session)
        #expect(
            scaled.text.contains(#"<tr data-service="sb_llm"><td>sb_llm</td><td class="n">2</td><td class="n warn">4</td><td>1–6</td>"#)
                && scaled.text.contains("over_target") && scaled.text.contains("Decided by mgr-1"), "\(scaled.text)")
        let flows = try await c.get("/flows", cookie: session)
        #expect(flows.text.contains("<h2>chat</h2>") && flows.text.contains("chat.reply, voice.synthesize"))
        let audit = try await c.get("/audit", cookie: session)
        #expect(audit.text.contains("<td>schedule.run</td>") && audit.text.contains("<td>retention</td>"))
        consumer.signal(SIGTERM)
        _ = await consumer.waitForExit()
        await c.stop()
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func forgedAndStaleRequestsChangeNothing() async throws {
        let c = try await ConsoleHarness()
        try await c.makeDeadLetters(1)
        let session = try await c.signInWithToken()
        let csrf = try #require(ConsoleHarness.csrf(try await c.get("/dead", cookie: session)))
        // No CSRF token, a wrong one, another site's origin: refused, the letter stays.
        let forms: [([(String, String)], [(String, String)])] = [
            ([("scope", "all")], []),
            ([("csrf", "forged"), ("scope", "all")], []),
            ([("csrf", csrf), ("scope", "all")], [("Origin", "http://evil.example")]),
        ]
        for (form, headers) in forms {
            let reply = try await c.post("/dead/drop", form: form, cookie: session, headers: headers)
            #expect(reply.status == 403, "\(reply.text)")
            #expect(reply.text.contains("Nothing was changed"))
        }
        // An expired session (sealed with the deployment's secret, its time over) is no session.
        let expired = ConsoleSession(
            subject: "token", name: "admin", role: .operator, expires: Int(Date().timeIntervalSince1970) - 1, csrf: csrf)
        let stale = SessionSeal(secret: ConsoleHarness.secret).seal(expired)
        #expect(try await c.get("/", cookie: stale).status == 303)
        #expect(try await c.post("/dead/drop", form: [("csrf", csrf), ("scope", "all")], cookie: stale).status == 401)
        // A tampered session is no session; a wrong bearer token is refused.
        let tampered = String(session.dropLast(2)) + (session.hasSuffix("AA") ? "BB" : "AA")
        #expect(try await c.get("/", cookie: tampered).status == 303)
        #expect(try await c.post("/dead/drop", form: [("csrf", csrf), ("scope", "all")], cookie: tampered).status == 401)
        #expect(
            try await c.post("/queues/diagnostics/pause", form: [], headers: [("Authorization", "Bearer wrong-token-0123456789")]).status
                == 401)
        #expect(try await c.h.integer("XLEN", c.h.key("diagnostics:dead")) == 1)
        #expect(try await c.h.integer("SISMEMBER", c.h.key("paused"), "diagnostics") == 0)
        // Unknown ids and malformed input: a clear answer each.
        #expect(try await c.get("/queues/nope", cookie: session).status == 404)
        #expect(try await c.get("/dead/diagnostics/1-1", cookie: session).status == 404)
        #expect(try await c.get("/dead/diagnostics/..%2F..", cookie: session).status == 404)
        let badSince = try await c.get("/dead?since=forever", cookie: session)
        #expect(badSince.status == 400 && badSince.text.contains("is not an age"))
        let unknown = try await c.post(
            "/dead/retry", form: [("csrf", csrf), ("scope", "selected"), ("selected", "nope/1-1")], cookie: session)
        #expect(unknown.status == 400)
        let trace = try await c.get("/trace?id=01JNOTHINGKNOWNOFTHIS00000", cookie: session)
        #expect(trace.status == 200 && trace.text.contains("Nothing is known of 01JNOTHINGKNOWNOFTHIS00000"))
        // After signing in, only a path of the console: never another site.
        let away = try await c.post("/login", form: [("token", ConsoleHarness.token), ("next", "//evil.example/x")])
        #expect(away.headers["location"] == "/")
        #expect(try await c.h.integer("XLEN", c.h.key("audit")) == 0, "nothing was done, nothing audited")
        await c.stop()
    }

    @Test func whatRedisHoldsIsShownEscaped() async throws {
        let c = try await ConsoleHarness()
        let consumer = try c.h.consumer(["--queues", "diagnostics"])
        try await c.h.client.send(
            "XADD", c.h.key("diagnostics:stream"), "*", "id", "01KHOSTILE0000000000000000", "kind", "nope</td><script>alert(1)</script>",
            "attempt", "1", "max_attempts", "1", "enqueued_at", "0", "payload", "{}")
        #expect(await eventually { (try? await c.h.integer("XLEN", c.h.key("diagnostics:dead"))) == 1 })
        consumer.signal(SIGTERM)
        _ = await consumer.waitForExit()
        let session = try await c.signInWithToken()
        let page = try await c.get("/dead", cookie: session)
        #expect(page.status == 200)
        #expect(!page.text.contains("<script>alert(1)</script>"))
        #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        await c.stop()
    }

    @Test func keycloakSignsInOperatorsAndViewersAndRefusesEveryBadToken() async throws {
        let provider = try await FakeOpenIDProvider(users: [
            "ada": .init(password: "ada-pass", roles: ["switchboard-operator", "offline_access"]),
            "vic": .init(password: "vic-pass", roles: ["switchboard-viewer"]),
            "eve": .init(password: "eve-pass", roles: ["offline_access"]),
        ])
        let c = try await ConsoleHarness(provider: provider, token: false)
        try await c.makeDeadLetters(1)

        // An operator: back where she asked to go, with a session.
        let ada = try await c.signIn(as: "ada", password: "ada-pass")
        #expect(ada.status == 303 && ada.headers["location"] == "/dead", "\(ada.text)")
        let adaSession = try #require(ada.cookie("switchboard_session"))
        #expect(ada.cookies.contains { $0.hasPrefix("switchboard_session=") && $0.contains("HttpOnly") && $0.contains("SameSite=Lax") })
        let request = try #require(provider.tokenRequests.value.first)
        #expect(request["code_verifier"]?.count == 43 && request["client_id"] == "switchboard-console")
        let page = try await c.get("/dead", cookie: adaSession)
        #expect(page.text.contains("ada") && page.text.contains("operator") && page.text.contains("id=\"retry-selected\""))

        // A viewer sees the letters without their buttons, and her forged POST changes nothing.
        let vic = try await c.signIn(as: "vic", password: "vic-pass")
        let vicSession = try #require(vic.cookie("switchboard_session"))
        let seen = try await c.get("/dead", cookie: vicSession)
        #expect(seen.status == 200 && seen.text.contains("viewer") && !seen.text.contains("retry-selected"))
        let csrf = try #require(ConsoleHarness.csrf(seen), "the sign-out form carries it")
        let forged = try await c.post("/dead/retry", form: [("csrf", csrf), ("scope", "all")], cookie: vicSession)
        #expect(forged.status == 403 && forged.text.contains("viewers see, operators act"))
        #expect(try await c.h.integer("XLEN", c.h.key("diagnostics:dead")) == 1)

        // Someone with neither role.
        let eve = try await c.signIn(as: "eve", password: "eve-pass")
        #expect(eve.status == 403 && eve.cookie("switchboard_session") == nil)

        // Tokens the console must not believe.
        var mischiefs: [(String, FakeOpenIDProvider.Mischief)] = []
        var issuer = FakeOpenIDProvider.Mischief(); issuer.issuer = "http://127.0.0.1:1/realms/other"; mischiefs.append(("issuer", issuer))
        var audience = FakeOpenIDProvider.Mischief(); audience.audience = "another-client"; mischiefs.append(("audience", audience))
        var expired = FakeOpenIDProvider.Mischief(); expired.expired = true; mischiefs.append(("expired", expired))
        var foreign = FakeOpenIDProvider.Mischief(); foreign.foreignKey = true; mischiefs.append(("signature", foreign))
        var nonce = FakeOpenIDProvider.Mischief(); nonce.nonce = "replayed-nonce"; mischiefs.append(("nonce", nonce))
        var early = FakeOpenIDProvider.Mischief(); early.notYetValid = true; mischiefs.append(("nbf", early))
        var future = FakeOpenIDProvider.Mischief(); future.issuedInTheFuture = true; mischiefs.append(("iat", future))
        var none = FakeOpenIDProvider.Mischief(); none.unsigned = true; mischiefs.append(("alg none", none))
        var confused = FakeOpenIDProvider.Mischief(); confused.hmacWithThePublicKey = true;
        mischiefs.append(("HS256 with the public key", confused))
        for (what, mischief) in mischiefs {
            provider.mischief.set(mischief)
            let refused = try await c.signIn(as: "ada", password: "ada-pass")
            #expect(refused.status == 401, "\(what): \(refused.status) \(refused.text.prefix(500))")
            #expect(refused.cookie("switchboard_session") == nil, "\(what)")
        }
        provider.mischief.set(.init())
        // A callback without the sign-in's cookie, or with a state of its own.
        let stray = try await c.get("/auth/callback?code=x&state=y")
        #expect(stray.status == 400 && stray.cookie("switchboard_session") == nil)
        await c.stop()
    }

    @Test func withoutASignInTheConsoleListensOnlyOnLoopback() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let refused = try await SwitchboardProcess.run(["console"] + h.common + ["--host", "0.0.0.0", "--port", "1"])
        #expect(refused.status == 2 && refused.output.contains("refuses to listen on 0.0.0.0 with no sign-in"), "\(refused.output)")
        let short = try await SwitchboardProcess.run(
            ["console"] + h.common + ["--host", "0.0.0.0"], environment: ["CONSOLE_TOKEN": "short"])
        #expect(short.status == 2 && short.output.contains("at least 16 characters"))
        let half = try await SwitchboardProcess.run(
            ["console"] + h.common, environment: ["CONSOLE_OIDC_ISSUER": "https://sso.example.com/realms/x"])
        #expect(half.status == 2 && half.output.contains("CONSOLE_OIDC_CLIENT_ID"))
        // A port already taken: exit non-zero saying which, never a console half up.
        let taken = try ListeningPort()
        let busy = try await SwitchboardProcess.run(["console"] + h.common + ["--port", String(taken.port)])
        #expect(busy.status != 0 && busy.output.contains("cannot listen on 127.0.0.1:\(taken.port) for the console"), "\(busy.output)")
        // On loopback with no sign-in, the local operator.
        let (local, port) = try await SwitchboardProcess.serving { port in ["console"] + h.common + ["--port", String(port)] }
        let page = try await LoopbackHTTP.send(port: port, method: "GET", path: "/flows")
        #expect(page.status == 200 && page.text.contains("chat.retrieve") && page.text.contains("local"))
        local.signal(SIGTERM)
        #expect(await local.waitForExit() == 0)
    }
}
