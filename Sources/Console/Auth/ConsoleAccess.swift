import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics

/// Who is asking, and whether they may: a session cookie (from a Keycloak sign-in or the token
/// form), `Authorization: Bearer <CONSOLE_TOKEN>` for scripts, or — only when no sign-in is
/// configured and the console listens on loopback — the local operator.
///
/// Every action needs the operator role and, for a browser (anything not signed by a bearer
/// token), the session's CSRF token echoed in the form and an `Origin`, when sent, that is this
/// console's own. Wrong tokens are throttled per client and overall (`SignInThrottle`), each
/// refusal logged with the client's address and counted
/// (`switchboard_console_signin_refusals_total{reason}`); a session signed out is over on the
/// server too (`EndedSessions`).
struct ConsoleAccess: Sendable {
    /// A visitor of a page or an action.
    struct Visitor: Sendable {
        var name: String
        var role: VisitorRole
        /// What the visitor's forms must carry; nil for a bearer token (no cookie, nothing to forge).
        var csrf: String?
        /// The session of a visitor signed in by a cookie (and so able to sign out).
        var session: ConsoleSession?
    }

    static let sessionCookie = "switchboard_session"
    static let pendingCookie = "switchboard_signin"

    let token: String?
    let openID: OpenIDLogin?
    let seal: SessionSeal
    /// No sign-in configured, loopback only: every visitor is the local operator.
    let local: Bool
    /// Cookies only over https (the public URL is https).
    let secureCookies: Bool
    /// Seconds a session lasts.
    let sessionLifetime: Int
    /// The per-process CSRF token of the local operator.
    let localCSRF: String
    let throttle: SignInThrottle
    let ended: EndedSessions
    let logger: Logger

    enum Outcome {
        case visitor(Visitor)
        /// Nobody signed in (or a session that expired or was tampered with).
        case anonymous
        /// A bearer token that is not the console's.
        case refused
        /// Too many wrong tokens from this client (or from all of them): seconds until the next guess.
        case throttled(Int)
        /// Redis could not say whether the session was signed out.
        case unavailable(String)
    }

    func identify(_ request: Request, client: String) async -> Outcome {
        if let authorization = request.headers[.authorization] {
            if let wait = throttle.wait(for: client) {
                refused(client, reason: "throttled", detail: "a Bearer token while too many wrong ones were tried")
                return .throttled(wait)
            }
            guard let token, authorization.hasPrefix("Bearer "), Self.same(String(authorization.dropFirst("Bearer ".count)), token) else {
                throttle.failed(client)
                refused(client, reason: "wrong_bearer_token", detail: "a wrong Bearer token")
                return .refused
            }
            return .visitor(Visitor(name: "token", role: .operator, csrf: nil, session: nil))
        }
        if let cookie = request.cookies[Self.sessionCookie]?.value, let session = seal.open(session: cookie) {
            do {
                if try await ended.isEnded(session) { return .anonymous }
            } catch {
                return .unavailable("\(error)")
            }
            return .visitor(Visitor(name: session.name, role: session.role, csrf: session.csrf, session: session))
        }
        if local { return .visitor(Visitor(name: "local", role: .operator, csrf: localCSRF, session: nil)) }
        return .anonymous
    }

    /// Logs and counts a refused sign-in, naming the client's address (never what was guessed).
    func refused(_ client: String, reason: String, detail: String) {
        logger.notice("console sign-in refused", metadata: ["client": "\(client)", "reason": "\(detail)"])
        Counter(label: "switchboard_console_signin_refusals_total", dimensions: [("reason", reason)]).increment()
    }

    /// Why an action is refused, or nil when `visitor` may take it with this form.
    func refusal(_ visitor: Visitor, form: [String: [String]], request: Request, publicOrigin: String?) -> (HTTPResponse.Status, String)? {
        guard visitor.role == .operator else { return (.forbidden, "\(visitor.name) is a viewer: viewers see, operators act. Nothing was changed.") }
        guard let expected = visitor.csrf else { return nil }
        guard let sent = form["csrf"]?.first, Self.same(sent, expected) else {
            return (.forbidden, "This form is stale or was not sent by the console (its CSRF token does not match). Nothing was changed.")
        }
        if let origin = request.headers[.origin], origin != "null" {
            let host = request.head.authority ?? ""
            let own = publicOrigin.map { [$0] } ?? ["http://\(host)", "https://\(host)"]
            guard own.contains(origin) else { return (.forbidden, "The request came from \(origin), not from the console. Nothing was changed.") }
        }
        return nil
    }

    /// The session cookie for `session`.
    func cookie(_ session: ConsoleSession) -> Cookie {
        Cookie(name: Self.sessionCookie, value: seal.seal(session), maxAge: sessionLifetime, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    func clearing(_ name: String) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    /// Signs in with the static token; nil when it is not the console's.
    func signIn(token given: String) -> ConsoleSession? {
        guard let token, Self.same(given, token) else { return nil }
        return ConsoleSession.make(subject: "token", name: "admin", role: .operator, lifetime: sessionLifetime)
    }

    static func same(_ a: String, _ b: String) -> Bool {
        // Compare MACs of both, so the time taken says nothing of how much of the token was right.
        let key = SymmetricKey(size: .bits256)
        return HMAC<SHA256>.authenticationCode(for: Array(a.utf8), using: key) == HMAC<SHA256>.authenticationCode(for: Array(b.utf8), using: key)
    }

    /// A path of this console to go to after signing in; anything else (another site, `//x`) is `/`.
    static func localPath(_ text: String?) -> String {
        guard let text, text.hasPrefix("/"), !text.hasPrefix("//"), !text.contains("\\"), text.count < 2048,
              !text.unicodeScalars.contains(where: { $0.value < 0x20 }) else { return "/" }
        return text
    }
}
