import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Who is asking, and whether they may: a session cookie (from a Keycloak sign-in or the token
/// form), `Authorization: Bearer <CONSOLE_TOKEN>` for scripts, or — only when no sign-in is
/// configured and the console listens on loopback — the local operator.
///
/// Every action needs the operator role and, for a browser (anything not signed by a bearer
/// token), the session's CSRF token echoed in the form and an `Origin`, when sent, that is this
/// console's own.
struct ConsoleAccess: Sendable {
    /// A visitor of a page or an action.
    struct Visitor: Sendable {
        var name: String
        var role: VisitorRole
        /// What the visitor's forms must carry; nil for a bearer token (no cookie, nothing to forge).
        var csrf: String?
        /// Signed in by a session cookie (and so able to sign out).
        var session: Bool
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

    enum Outcome {
        case visitor(Visitor)
        /// Nobody signed in (or a session that expired or was tampered with).
        case anonymous
        /// A bearer token that is not the console's.
        case refused
    }

    func identify(_ request: Request) -> Outcome {
        if let authorization = request.headers[.authorization] {
            guard let token, authorization.hasPrefix("Bearer "), Self.same(String(authorization.dropFirst("Bearer ".count)), token) else { return .refused }
            return .visitor(Visitor(name: "token", role: .operator, csrf: nil, session: false))
        }
        if let cookie = request.cookies[Self.sessionCookie]?.value, let session = seal.open(session: cookie) {
            return .visitor(Visitor(name: session.name, role: session.role, csrf: session.csrf, session: true))
        }
        if local { return .visitor(Visitor(name: "local", role: .operator, csrf: localCSRF, session: false)) }
        return .anonymous
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
