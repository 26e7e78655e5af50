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
            let given = authorization.hasPrefix("Bearer ") ? String(authorization.dropFirst("Bearer ".count)) : nil
            switch guess(given, from: client, as: .bearer) {
            case .throttled(let wait): return .throttled(wait)
            case .wrong: return .refused
            case .right: return .visitor(Visitor(name: "token", role: .operator, csrf: nil, session: nil))
            }
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

    /// How a token reached the console, as its refusals are logged and counted.
    enum TokenRoute {
        case bearer, form

        var wrong: (reason: String, detail: String) {
            self == .bearer ? ("wrong_bearer_token", "a wrong Bearer token") : ("wrong_token", "a wrong token in the sign-in form")
        }

        var held: String {
            self == .bearer ? "a Bearer token while too many wrong ones were tried" : "a token sign-in while too many wrong ones were tried"
        }
    }

    enum TokenGuess: Equatable {
        case right, wrong
        /// Not checked: too many wrong ones from this client (or from all); seconds to wait.
        case throttled(Int)
    }

    /// The one check of a guess at the console's token, by either route: held back unchecked while
    /// the client (or everyone) guessed wrong too often, and a wrong one counted and logged.
    func guess(_ given: String?, from client: String, as route: TokenRoute) -> TokenGuess {
        if let wait = throttle.wait(for: client) {
            refused(client, reason: "throttled", detail: route.held)
            return .throttled(wait)
        }
        guard let token, let given, Self.same(given, token) else {
            throttle.failed(client)
            refused(client, reason: route.wrong.reason, detail: route.wrong.detail)
            return .wrong
        }
        return .right
    }

    /// Logs and counts a refused sign-in, naming the client's address (never what was guessed).
    func refused(_ client: String, reason: String, detail: String) {
        logger.notice("console sign-in refused", metadata: ["client": "\(client)", "reason": "\(detail)"])
        Counter(label: "switchboard_console_signin_refusals_total", dimensions: [("reason", reason)]).increment()
    }

    /// Why an action is refused, or nil when `visitor` may take it with this form.
    func refusal(_ visitor: Visitor, form: [String: [String]], request: Request, publicOrigin: String?) -> (HTTPResponse.Status, String)? {
        guard visitor.role == .operator else {
            return (.forbidden, "\(visitor.name) is a viewer: viewers see, operators act. Nothing was changed.")
        }
        guard let expected = visitor.csrf else { return nil }
        guard let sent = form["csrf"]?.first, Self.same(sent, expected) else {
            return (.forbidden, "This form is stale or was not sent by the console (its CSRF token does not match). Nothing was changed.")
        }
        if let origin = request.headers[.origin], origin != "null" {
            let host = request.head.authority ?? ""
            let own = publicOrigin.map { [$0] } ?? ["http://\(host)", "https://\(host)"]
            guard own.contains(origin) else {
                return (.forbidden, "The request came from \(origin), not from the console. Nothing was changed.")
            }
        }
        return nil
    }

    /// The session cookie for `session`.
    func cookie(_ session: ConsoleSession) -> Cookie {
        Cookie(
            name: Self.sessionCookie, value: seal.seal(session), maxAge: sessionLifetime, path: "/", secure: secureCookies, httpOnly: true,
            sameSite: .lax)
    }

    func clearing(_ name: String) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    /// A session of the static token's operator (the token already checked by `guess`).
    func tokenSession() -> ConsoleSession {
        ConsoleSession.make(subject: "token", name: "admin", role: .operator, lifetime: sessionLifetime)
    }

    static func same(_ a: String, _ b: String) -> Bool {
        // Compare MACs of both, so the time taken says nothing of how much of the token was right.
        let key = SymmetricKey(size: .bits256)
        return HMAC<SHA256>.authenticationCode(for: Array(a.utf8), using: key)
            == HMAC<SHA256>.authenticationCode(for: Array(b.utf8), using: key)
    }

    /// A path of this console to go to after signing in; anything else (another site, `//x`) is `/`.
    static func localPath(_ text: String?) -> String {
        guard let text, text.hasPrefix("/"), !text.hasPrefix("//"), !text.contains("\\"), text.count < 2048,
            !text.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { return "/" }
        return text
    }
}
