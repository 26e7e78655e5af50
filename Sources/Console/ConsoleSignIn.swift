import Foundation
import HTTPTypes
import Hummingbird
import Queue
import Redis
import Scheduler
import Services

/// Signing in and out: the token form, Keycloak's round trip (start, callback), sign-out.
extension ConsoleRoutes {
    func loginPage(_ request: Request, _ context: ConsoleContext) async -> Response {
        let next = ConsoleAccess.localPath(request.uri.queryParameters.get("next"))
        if case .visitor = await access.identify(request, client: context.client), !access.local {
            return Response(status: .seeOther, headers: [.location: next])
        }
        return renderer.login(message: nil, next: next, openID: access.openID.map { _ in "Keycloak" }, token: access.token != nil)
    }

    func tokenSignIn(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let form = try await Self.form(request)
        let next = ConsoleAccess.localPath(form["next"]?.first)
        let openID = access.openID.map { _ in "Keycloak" }
        guard access.token != nil else {
            return renderer.login(message: "Sign-in by token is not enabled.", next: next, openID: openID, token: false, status: .notFound)
        }
        switch access.guess(form["token"]?.first ?? "", from: context.client, as: .form) {
        case .throttled(let wait):
            var response = renderer.login(
                message: "Too many wrong tokens were tried: try again in \(wait) s.", next: next, openID: openID, token: true,
                status: .tooManyRequests)
            response.headers[.retryAfter] = String(wait)
            return response
        case .wrong:
            return renderer.login(
                message: "That is not the console's token.", next: next, openID: openID, token: true, status: .unauthorized)
        case .right:
            break
        }
        var response = Response(status: .seeOther, headers: [.location: next])
        response.setCookie(access.cookie(access.tokenSession()))
        return response
    }

    func openIDStart(_ request: Request) async -> Response {
        let next = ConsoleAccess.localPath(request.uri.queryParameters.get("next"))
        guard let openID = access.openID else {
            return renderer.login(
                message: "Sign-in with Keycloak is not enabled.", next: next, openID: nil, token: access.token != nil, status: .notFound)
        }
        do {
            let (url, pending) = try await openID.start(next: next)
            var response = Response(status: .found, headers: [.location: url])
            response.setCookie(
                Cookie(
                    name: ConsoleAccess.pendingCookie, value: access.seal.seal(pending), maxAge: 600, path: "/auth",
                    secure: access.secureCookies, httpOnly: true, sameSite: .lax))
            return response
        } catch {
            logger.error("console sign-in cannot start", metadata: ["error": "\(error)"])
            return renderer.login(
                message: "The identity provider cannot be reached: \(error)", next: next, openID: "Keycloak", token: access.token != nil,
                status: .badGateway)
        }
    }

    func openIDCallback(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        guard let openID = access.openID else { return renderer.html("not enabled\n", status: .notFound) }
        let token = access.token != nil
        guard let sealed = request.cookies[ConsoleAccess.pendingCookie]?.value,
            let pending = access.seal.open(sealed, as: OpenIDLogin.Pending.self)
        else {
            return renderer.login(
                message: "This sign-in was not started here, or took too long. Start again.", next: "/", openID: "Keycloak", token: token,
                status: .badRequest)
        }
        if let error = query.get("error") {
            // The provider's words come through the browser, where anyone can write them: only
            // the console's own text for the codes OAuth defines is shown.
            access.refused(
                "provider", reason: "openid_error",
                detail:
                    "the provider answered \(String(error.prefix(64).filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }))")
            return renderer.login(
                message: "Keycloak refused the sign-in: \(Self.openIDError(error))", next: pending.next, openID: "Keycloak", token: token,
                status: .unauthorized)
        }
        do {
            let identity = try await openID.finish(code: query.get("code") ?? "", state: query.get("state") ?? "", pending: pending)
            let session = ConsoleSession.make(
                subject: identity.subject, name: identity.name, role: identity.role, lifetime: access.sessionLifetime)
            var response = Response(status: .seeOther, headers: [.location: pending.next])
            response.setCookie(access.cookie(session))
            response.setCookie(access.clearing(ConsoleAccess.pendingCookie).with(path: "/auth"))
            logger.info("console sign-in", metadata: ["who": "\(identity.name)", "role": "\(identity.role.rawValue)"])
            return response
        } catch let error as ConsoleAuthError {
            logger.notice("console sign-in refused", metadata: ["reason": "\(error)"])
            let status: HTTPResponse.Status =
                if case .forbidden = error { .forbidden } else if case .provider = error { .badGateway } else { .unauthorized }
            return renderer.login(message: error.description, next: pending.next, openID: "Keycloak", token: token, status: status)
        } catch {
            logger.error("console sign-in failed", metadata: ["error": "\(error)"])
            return renderer.login(
                message: "The sign-in failed: \(error)", next: pending.next, openID: "Keycloak", token: token, status: .badGateway)
        }
    }

    /// The fixed text for an OAuth error code (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6).
    static func openIDError(_ code: String) -> String {
        let known = [
            "access_denied": "access was denied.", "login_required": "you need to sign in there first.",
            "consent_required": "the console needs your consent there first.",
            "interaction_required": "it needs you to do something there first.",
            "account_selection_required": "choose an account there first.",
            "temporarily_unavailable": "it is unavailable for now; try again shortly.",
            "server_error": "it met an error of its own.", "invalid_request": "it found the request malformed.",
            "unauthorized_client": "the console is not allowed to ask it.",
            "unsupported_response_type": "it does not give codes to this console.",
            "invalid_scope": "it does not know the scopes the console asks for.",
            "request_not_supported": "it does not take this kind of request.",
        ]
        return known[code] ?? "for a reason it did not name in a way the console knows."
    }

    func signOut(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let form = try await Self.form(request)
        guard case .visitor(let visitor) = await access.identify(request, client: context.client), let csrf = visitor.csrf,
            let sent = form["csrf"]?.first, ConsoleAccess.same(sent, csrf)
        else {
            return renderer.html("nothing to sign out of\n", status: .forbidden)
        }
        if let session = visitor.session {
            // Over on the server too: a copy of the cookie opens nothing now.
            do {
                try await access.ended.end(session)
            } catch {
                logger.error("console sign-out could not be recorded", metadata: ["who": "\(visitor.name)", "error": "\(error)"])
                return renderer.html("Redis did not answer, so the session could not be ended: try again\n", status: .serviceUnavailable)
            }
            logger.info("console sign-out", metadata: ["who": "\(visitor.name)"])
        }
        var response = Response(status: .seeOther, headers: [.location: "/login"])
        response.setCookie(access.clearing(ConsoleAccess.sessionCookie))
        return response
    }
}
