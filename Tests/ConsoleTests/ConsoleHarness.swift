import Foundation
import Redis
import TestSupport
import Testing

/// A `switchboard console` process against a real Redis (and, when given, the fake OpenID
/// provider), spoken to over real HTTP as a browser or a script would.
struct ConsoleHarness {
    static let token = "console-token-0123456789abcdef"
    static let secret = "session-secret-0123456789abcdef0123456789"

    let h: ProcessHarness
    let console: SwitchboardProcess
    let port: Int
    let provider: FakeOpenIDProvider?

    init(
        provider: FakeOpenIDProvider? = nil, token: Bool = true, extra: [String: String] = [:], arguments: [String] = [],
        prefix: String = #function
    ) async throws {
        h = ProcessHarness(server: try await RedisServer(), prefix: prefix.filter { $0.isLetter })
        self.provider = provider
        var environment = ["CONSOLE_SESSION_SECRET": Self.secret]
        if token { environment["CONSOLE_TOKEN"] = Self.token }
        if let provider {
            environment["CONSOLE_OIDC_ISSUER"] = provider.issuer
            environment["CONSOLE_OIDC_CLIENT_ID"] = provider.clientID
        }
        var started: (SwitchboardProcess, Int)?
        var log = ""
        for _ in 0..<5 {
            // The public URL names the console's port: a provider's redirect must come back to it.
            let port = try FreePort.find()
            if provider != nil && extra["CONSOLE_PUBLIC_URL"] == nil { environment["CONSOLE_PUBLIC_URL"] = "http://127.0.0.1:\(port)" }
            let process = try SwitchboardProcess(
                ["console"] + h.common + ["--host", "127.0.0.1", "--port", String(port)] + arguments,
                environment: environment.merging(extra) { _, given in given })
            if await eventually(timeout: .seconds(20), { await process.serves(on: port) || !process.isRunning }), process.isRunning {
                started = (process, port)
                break
            }
            _ = await process.waitForExit(timeout: .seconds(5))
            log = process.log
            guard log.lowercased().contains("address already in use") else { break }
        }
        guard let (process, port) = started else { throw TestFailure("the console did not start: \(log.suffix(2000))") }
        console = process
        self.port = port
    }

    func stop() async {
        console.signal(SIGTERM)
        #expect(await console.waitForExit() == 0, "\(console.log.suffix(2000))")
        h.client.close()
    }

    func get(_ path: String, cookie: String? = nil, headers: [(String, String)] = []) async throws -> LoopbackHTTP.Reply {
        try await explained {
            try await LoopbackHTTP.send(
                port: port, method: "GET", path: path, headers: (cookie.map { [("Cookie", "switchboard_session=\($0)")] } ?? []) + headers)
        }
    }

    /// A failed exchange says whether the console was still running, and what it logged.
    private func explained(_ exchange: () async throws -> LoopbackHTTP.Reply) async throws -> LoopbackHTTP.Reply {
        do {
            return try await exchange()
        } catch {
            throw TestFailure("\(error); the console is \(console.isRunning ? "running" : "gone"); its log: \(console.log.suffix(2000))")
        }
    }

    func post(_ path: String, form: [(String, String)], cookie: String? = nil, headers: [(String, String)] = []) async throws
        -> LoopbackHTTP.Reply
    {
        let body = form.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await explained {
            try await LoopbackHTTP.send(
                port: port, path: path,
                headers: [("Content-Type", "application/x-www-form-urlencoded")]
                    + (cookie.map { [("Cookie", "switchboard_session=\($0)")] } ?? []) + headers, body: Array(body.utf8))
        }
    }

    /// Signs in with the console token; the session cookie.
    func signInWithToken() async throws -> String {
        let reply = try await post("/login", form: [("token", Self.token), ("next", "/")])
        #expect(reply.status == 303)
        return try #require(reply.cookie("switchboard_session"))
    }

    /// Signs in through the provider as `user` (the browser's round trip, spoken by hand); the
    /// callback's reply (a session cookie when it let the user in).
    func signIn(as user: String, password: String) async throws -> LoopbackHTTP.Reply {
        let provider = try #require(provider)
        let start = try await get("/auth/start?next=/dead")
        #expect(start.status == 302, "\(start.text)")
        let location = try #require(start.headers["location"])
        let pending = try #require(start.cookie("switchboard_signin"))
        // The browser at the provider: the sign-in form, then its answer.
        let authorization = try #require(URLComponents(string: location))
        #expect(location.hasPrefix(provider.issuer + "/protocol/openid-connect/auth?"))
        let query = Dictionary((authorization.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        let signInPage = try await LoopbackHTTP.send(
            port: provider.portNumber, method: "GET",
            path: authorization.percentEncodedPath + "?" + (authorization.percentEncodedQuery ?? ""))
        #expect(signInPage.status == 200, "\(signInPage.text)")
        let fields = [
            ("redirect_uri", query["redirect_uri"] ?? ""), ("state", query["state"] ?? ""), ("nonce", query["nonce"] ?? ""),
            ("challenge", query["code_challenge"] ?? ""), ("username", user), ("password", password),
        ]
        let body = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        let signedIn = try await LoopbackHTTP.send(
            port: provider.portNumber, path: "/realms/\(provider.realm)/login-actions/authenticate",
            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8))
        #expect(signedIn.status == 302, "\(signedIn.text)")
        let back = try #require(signedIn.headers["location"])
        #expect(back.hasPrefix("http://127.0.0.1:\(port)/auth/callback?"))
        let callback = String(back.dropFirst("http://127.0.0.1:\(port)".count))
        return try await LoopbackHTTP.send(
            port: port, method: "GET", path: callback, headers: [("Cookie", "switchboard_signin=\(pending)")])
    }

    /// The CSRF token the page's forms carry.
    static func csrf(_ page: LoopbackHTTP.Reply) -> String? {
        guard let range = page.text.range(of: #"name="csrf" value="([^"]+)""#, options: .regularExpression) else { return nil }
        let match = page.text[range]
        return match.split(separator: "\"").dropFirst(3).first.map(String.init)
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// An hour of traffic on `queue` written into the per-minute counts the engine keeps (the
    /// charts' source): `processed(i)` and `failed(i)` for the minute `i` minutes before this one.
    /// Returns the totals written.
    @discardableResult
    func seedMinutes(_ queue: String, processed: (Int) -> Int, failed: (Int) -> Int) async throws -> (processed: Int, failed: Int) {
        let current = Int(Date().timeIntervalSince1970) / 60
        var totals = (processed: 0, failed: 0)
        for ago in 1...60 {
            let (done, bad) = (processed(ago), failed(ago))
            try await h.client.send("HSET", h.key("\(queue):stats:\(current - ago)"), "processed", String(done), "failed", String(bad))
            totals.processed += done
            totals.failed += bad
        }
        return totals
    }

    /// Three dead letters on diagnostics, made by the engine's own consumer process.
    func makeDeadLetters(_ count: Int = 3, error: String? = nil) async throws {
        let consumer = try h.consumer(["--queues", "diagnostics"])
        try await h.enqueue(kind: "fail", payload: #"{"permanent": true}"#, count: count)
        #expect(await eventually { (try? await h.integer("XLEN", h.key("diagnostics:dead"))) == count })
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }
}
