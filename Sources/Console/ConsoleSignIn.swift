import Foundation
import HTTPTypes
import Hummingbird
import Queue
import Redis
import Scheduler
import Services

/// Signing in and out: the token form, Keycloak's round trip (start, callback), sign-out.
extension ConsoleRoutes {
    func loginPage(_ request: Request) -> Response {
        let next = ConsoleAccess.localPath(request.uri.queryParameters.get("next"))
        if case .visitor = access.identify(request), !access.local {
            return Response(status: .seeOther, headers: [.location: next])
        }
        return renderer.login(message: nil, next: next, openID: access.openID.map { _ in "Keycloak" }, token: access.token != nil)
    }

    func tokenSignIn(_ request: Request) async throws -> Response {
        let form = try await Self.form(request)
        let next = ConsoleAccess.localPath(form["next"]?.first)
        guard access.token != nil else { return renderer.login(message: "Sign-in by token is not enabled.", next: next, openID: access.openID.map { _ in "Keycloak" }, token: false, status: .notFound) }
        guard let session = access.signIn(token: form["token"]?.first ?? "") else {
            logger.notice("console sign-in refused: wrong token")
            return renderer.login(message: "That is not the console's token.", next: next, openID: access.openID.map { _ in "Keycloak" }, token: true, status: .unauthorized)
        }
        var response = Response(status: .seeOther, headers: [.location: next])
        response.setCookie(access.cookie(session))
        return response
    }

    func openIDStart(_ request: Request) async -> Response {
        let next = ConsoleAccess.localPath(request.uri.queryParameters.get("next"))
        guard let openID = access.openID else { return renderer.login(message: "Sign-in with Keycloak is not enabled.", next: next, openID: nil, token: access.token != nil, status: .notFound) }
        do {
            let (url, pending) = try await openID.start(next: next)
            var response = Response(status: .found, headers: [.location: url])
            response.setCookie(Cookie(name: ConsoleAccess.pendingCookie, value: access.seal.seal(pending), maxAge: 600, path: "/auth",
                                      secure: access.secureCookies, httpOnly: true, sameSite: .lax))
            return response
        } catch {
            logger.error("console sign-in cannot start", metadata: ["error": "\(error)"])
            return renderer.login(message: "The identity provider cannot be reached: \(error)", next: next, openID: "Keycloak", token: access.token != nil, status: .badGateway)
        }
    }

    func openIDCallback(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        guard let openID = access.openID else { return renderer.html("not enabled\n", status: .notFound) }
        let token = access.token != nil
        guard let sealed = request.cookies[ConsoleAccess.pendingCookie]?.value, let pending = access.seal.open(sealed, as: OpenIDLogin.Pending.self) else {
            return renderer.login(message: "This sign-in was not started here, or took too long. Start again.", next: "/", openID: "Keycloak", token: token, status: .badRequest)
        }
        if let error = query.get("error") {
            return renderer.login(message: "Keycloak refused the sign-in: \(error) \(query.get("error_description") ?? "")", next: pending.next, openID: "Keycloak", token: token, status: .unauthorized)
        }
        do {
            let identity = try await openID.finish(code: query.get("code") ?? "", state: query.get("state") ?? "", pending: pending)
            let session = ConsoleSession.make(subject: identity.subject, name: identity.name, role: identity.role, lifetime: access.sessionLifetime)
            var response = Response(status: .seeOther, headers: [.location: pending.next])
            response.setCookie(access.cookie(session))
            response.setCookie(access.clearing(ConsoleAccess.pendingCookie).with(path: "/auth"))
            logger.info("console sign-in", metadata: ["who": "\(identity.name)", "role": "\(identity.role.rawValue)"])
            return response
        } catch let error as ConsoleAuthError {
            logger.notice("console sign-in refused", metadata: ["reason": "\(error)"])
            let status: HTTPResponse.Status = if case .forbidden = error { .forbidden } else if case .provider = error { .badGateway } else { .unauthorized }
            return renderer.login(message: error.description, next: pending.next, openID: "Keycloak", token: token, status: status)
        } catch {
            logger.error("console sign-in failed", metadata: ["error": "\(error)"])
            return renderer.login(message: "The sign-in failed: \(error)", next: pending.next, openID: "Keycloak", token: token, status: .badGateway)
        }
    }

    func signOut(_ request: Request) async throws -> Response {
        let form = try await Self.form(request)
        guard case .visitor(let visitor) = access.identify(request), let csrf = visitor.csrf, let sent = form["csrf"]?.first, ConsoleAccess.same(sent, csrf) else {
            return renderer.html("nothing to sign out of\n", status: .forbidden)
        }
        var response = Response(status: .seeOther, headers: [.location: "/login"])
        response.setCookie(access.clearing(ConsoleAccess.sessionCookie))
        return response
    }
}
