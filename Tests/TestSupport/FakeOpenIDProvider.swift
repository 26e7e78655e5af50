import Crypto
import CryptoExtras
import Foundation
import Hummingbird
import NIOCore

/// A small OpenID Connect provider shaped like a Keycloak realm, written for the tests and sharing
/// no code with the console: a discovery document, a JWKS, an authorization endpoint with a sign-in
/// form, and a token endpoint that checks the code, the client, the redirect URI and the PKCE
/// verifier (S256) before it issues an RS256 ID token carrying the user's realm roles.
///
/// Knobs make it misbehave as a hostile or broken provider would: tokens from another issuer,
/// for another audience, already expired, signed by a key the JWKS does not publish, or with a
/// nonce of its own.
public final class FakeOpenIDProvider: Sendable {
    public struct User: Sendable {
        public var password: String
        public var roles: [String]
        public init(password: String, roles: [String]) {
            self.password = password
            self.roles = roles
        }
    }

    /// How the next tokens are made wrong.
    public struct Mischief: Sendable {
        public var issuer: String?
        public var audience: String?
        public var expired = false
        public var foreignKey = false
        public var nonce: String?
        /// `nbf` ten minutes on: not valid yet.
        public var notYetValid = false
        /// `iat` ten minutes on: issued in the future.
        public var issuedInTheFuture = false
        /// `alg: none`, no signature.
        public var unsigned = false
        /// HS256, keyed with the public key's PEM (the algorithm-confusion forgery).
        public var hmacWithThePublicKey = false
        public init() {}
    }

    struct Grant: Sendable {
        var user: String
        var clientID: String
        var redirectURI: String
        var nonce: String
        var challenge: String
    }

    public let realm = "hosting"
    public let clientID: String
    let users: [String: User]
    let key: _RSA.Signing.PrivateKey
    let foreign: _RSA.Signing.PrivateKey
    let kid = "test-key-1"
    let grants = LockedValue<[String: Grant]>([:])
    public let mischief = LockedValue(Mischief())
    /// Token requests received, as form fields.
    public let tokenRequests = LockedValue<[[String: String]]>([])
    private let port = LockedValue<Int?>(nil)
    private let task = LockedValue<Task<Void, any Error>?>(nil)

    public init(clientID: String = "switchboard-console", users: [String: User]) async throws {
        self.clientID = clientID
        self.users = users
        key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        foreign = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let router = Router()
        let base = "/realms/\(realm)"
        router.get("\(base)/.well-known/openid-configuration") { [self] _, _ in json(discovery) }
        router.get("\(base)/protocol/openid-connect/certs") { [self] _, _ in json(try jwks()) }
        router.get("\(base)/protocol/openid-connect/auth") { [self] request, _ in signInForm(request) }
        router.post("\(base)/login-actions/authenticate") { [self] request, _ in try await authenticate(request) }
        router.post("\(base)/protocol/openid-connect/token") { [self] request, _ in try await token(request) }
        let port = self.port
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.set(channel.localAddress?.port) })
        task.set(Task { try await app.run() })
        guard await eventually(timeout: .seconds(10), { port.value != nil }) else { throw TestFailure("the OpenID provider did not start") }
    }

    deinit {
        task.value?.cancel()
    }

    public var url: String { "http://127.0.0.1:\(port.value ?? 0)" }
    public var issuer: String { "\(url)/realms/\(realm)" }
    public var portNumber: Int { port.value ?? 0 }

    var discovery: [String: Any] {
        [
            "issuer": issuer, "authorization_endpoint": "\(issuer)/protocol/openid-connect/auth",
            "token_endpoint": "\(issuer)/protocol/openid-connect/token", "jwks_uri": "\(issuer)/protocol/openid-connect/certs",
            "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
        ]
    }

    func jwks() throws -> [String: Any] {
        let primitives = try key.publicKey.getKeyPrimitives()
        // First, keys of types jwt-kit does not know (a provider lists new algorithms and
        // encryption keys beside its signing keys): a console must skip them, not fail.
        return [
            "keys": [
                ["kty": "XYZ-2026", "kid": "future", "use": "sig", "alg": "XYZ-2026", "pub": "AAAA"],
                ["kty": "OKP", "crv": "X448", "kid": "agreement", "use": "enc", "x": "AAAA"],
                [
                    "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": Self.base64URL(primitives.modulus),
                    "e": Self.base64URL(primitives.publicExponent),
                ],
            ]
        ]
    }

    /// The sign-in page the browser is sent to (the query carried into the form).
    func signInForm(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        guard query.get("response_type") == "code", query.get("client_id") == clientID, query.get("code_challenge_method") == "S256",
            let challenge = query.get("code_challenge"), !challenge.isEmpty, let redirect = query.get("redirect_uri"),
            let state = query.get("state"), let nonce = query.get("nonce")
        else {
            return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "bad authorization request")))
        }
        func field(_ name: String, _ value: String) -> String {
            "<input type=\"hidden\" name=\"\(name)\" value=\"\(value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;"))\">"
        }
        let page = """
            <!doctype html><html><head><title>Sign in to \(realm)</title></head><body>
            <form method="post" action="/realms/\(realm)/login-actions/authenticate">
            \(field("redirect_uri", redirect))\(field("state", state))\(field("nonce", nonce))\(field("challenge", challenge))
            <label>Username <input id="username" name="username"></label>
            <label>Password <input id="password" name="password" type="password"></label>
            <button id="kc-login" type="submit">Sign In</button>
            </form></body></html>
            """
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    func authenticate(_ request: Request) async throws -> Response {
        let form = Self.form(String(buffer: try await request.body.collect(upTo: 1 << 16)))
        guard let name = form["username"], let user = users[name], user.password == form["password"],
            let redirect = form["redirect_uri"], let state = form["state"], let nonce = form["nonce"], let challenge = form["challenge"]
        else {
            return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "Invalid username or password.")))
        }
        let code = UUID().uuidString
        grants.withLock { $0[code] = Grant(user: name, clientID: clientID, redirectURI: redirect, nonce: nonce, challenge: challenge) }
        _ = user
        let separator = redirect.contains("?") ? "&" : "?"
        let location =
            redirect + separator + "code=\(code)&state=\(state.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        return Response(status: .found, headers: [.location: location])
    }

    /// Starts a grant without the browser, as `authenticate` would: the code the provider would
    /// send back for `user` (tests that speak HTTP themselves).
    public func code(for user: String, redirectURI: String, nonce: String, challenge: String) -> String {
        let code = UUID().uuidString
        grants.withLock { $0[code] = Grant(user: user, clientID: clientID, redirectURI: redirectURI, nonce: nonce, challenge: challenge) }
        return code
    }

    func token(_ request: Request) async throws -> Response {
        let form = Self.form(String(buffer: try await request.body.collect(upTo: 1 << 16)))
        tokenRequests.withLock { $0.append(form) }
        func refuse(_ error: String) -> Response {
            Response(
                status: .badRequest, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"\(error)\"}")))
        }
        guard form["grant_type"] == "authorization_code", let code = form["code"] else { return refuse("unsupported_grant_type") }
        // A code is used once.
        guard let grant = grants.withLock({ $0.removeValue(forKey: code) }) else { return refuse("invalid_grant") }
        guard form["client_id"] == grant.clientID, form["redirect_uri"] == grant.redirectURI else { return refuse("invalid_grant") }
        guard let verifier = form["code_verifier"], Self.base64URL(Data(SHA256.hash(data: Array(verifier.utf8)))) == grant.challenge else {
            return refuse("invalid_grant")
        }
        let token = try idToken(user: grant.user, nonce: grant.nonce)
        return json(["access_token": "opaque", "token_type": "Bearer", "expires_in": 300, "id_token": token])
    }

    /// An ID token for `user` as this provider (and its mischief) makes it.
    public func idToken(user: String, nonce: String) throws -> String {
        let wrong = mischief.value
        let now = Int(Date().timeIntervalSince1970)
        let algorithm = wrong.unsigned ? "none" : wrong.hmacWithThePublicKey ? "HS256" : "RS256"
        let header: [String: Any] = ["alg": algorithm, "typ": "JWT", "kid": kid]
        var payload: [String: Any] = [
            "iss": wrong.issuer ?? issuer, "aud": wrong.audience ?? clientID, "sub": "user-\(user)", "azp": clientID,
            "exp": wrong.expired ? now - 60 : now + 300, "iat": now - (wrong.expired ? 400 : 0), "nonce": wrong.nonce ?? nonce,
            "preferred_username": user, "name": user.capitalized, "realm_access": ["roles": users[user]?.roles ?? []],
        ]
        if wrong.notYetValid { payload["nbf"] = now + 600 }
        if wrong.issuedInTheFuture { payload["iat"] = now + 600 }
        let signingInput =
            Self.base64URL(try JSONSerialization.data(withJSONObject: header)) + "."
            + Self.base64URL(try JSONSerialization.data(withJSONObject: payload))
        if wrong.unsigned { return signingInput + "." }
        if wrong.hmacWithThePublicKey {
            let mac = HMAC<SHA256>.authenticationCode(
                for: Array(signingInput.utf8), using: SymmetricKey(data: Array(key.publicKey.pemRepresentation.utf8)))
            return signingInput + "." + Self.base64URL(Data(mac))
        }
        let signer = wrong.foreignKey ? foreign : key
        let signature = try signer.signature(for: SHA256.hash(data: Array(signingInput.utf8)), padding: .insecurePKCS1v1_5)
        return signingInput + "." + Self.base64URL(signature.rawRepresentation)
    }

    func json(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    static func form(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }

    public static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
            of: "=", with: "")
    }
}
