import Crypto
import Foundation
import JWTKit
import Logging
import Services
import Synchronization

/// OpenID Connect sign-in against Keycloak (or any provider that publishes its discovery
/// document): the authorization code flow with PKCE (S256), the ID token's signature checked
/// against the provider's JWKS and its issuer, audience, expiry and nonce checked here, and the
/// visitor's role read from a configurable claim.
///
/// The discovery document and the keys are fetched on first use and again when a token names a
/// key not yet known (the provider rotated its keys), at most once a minute.
final class OpenIDLogin: Sendable {
    struct Settings: Sendable {
        /// `https://keycloak.example.com/realms/hosting`; the discovery document is under it.
        var issuer: String
        var clientID: String
        var clientSecret: String?
        /// Where the provider sends the browser back: `<public URL>/auth/callback`.
        var redirectURI: String
        /// A dotted path into the ID token's claims (`realm_access.roles`, `groups`, `roles`).
        var rolesClaim: String
        var operatorRole: String
        var viewerRole: String
    }

    /// What the provider's discovery document says.
    struct Endpoints: Sendable, Decodable {
        var issuer: String
        var authorizationEndpoint: String
        var tokenEndpoint: String
        var jwksURI: String

        enum CodingKeys: String, CodingKey {
            case issuer
            case authorizationEndpoint = "authorization_endpoint"
            case tokenEndpoint = "token_endpoint"
            case jwksURI = "jwks_uri"
        }
    }

    /// What the browser's round trip must bring back: kept in a sealed cookie between the redirect
    /// to the provider and the callback.
    struct Pending: Sendable, Codable {
        var state: String
        var nonce: String
        var verifier: String
        /// Unix seconds; the round trip must end within ten minutes.
        var expires: Int
        /// The page the visitor asked for, a path of this console.
        var next: String
    }

    /// The signed-in visitor's identity.
    struct Identity: Sendable, Equatable {
        var subject: String
        var name: String
        var role: VisitorRole
    }

    let settings: Settings
    private let http: HTTPClient
    private let keys = JWTKeyCollection()
    private let discovered = ConsoleCache<Endpoints>()
    private let keysFetched = ConsoleCache<Int>()

    private let logger: Logger

    init(settings: Settings, http: HTTPClient, logger: Logger = Logger(label: "switchboard.console")) {
        self.settings = settings
        self.http = http
        self.logger = logger
    }

    /// The provider's endpoints, from its discovery document (whose issuer must be the one configured).
    func endpoints() async throws -> Endpoints {
        if let known = discovered.value { return known }
        let url = settings.issuer.trimmingSuffix("/") + "/.well-known/openid-configuration"
        let response = try await http.send(
            HTTPClient.Request("GET", url, headers: [("Accept", "application/json")], timeout: .seconds(10), maxResponseBytes: 1 << 20))
        guard response.status == 200 else { throw ConsoleAuthError.provider("discovery document \(url) answered \(response.status)") }
        let endpoints = try JSONDecoder().decode(Endpoints.self, from: Data(response.body))
        guard endpoints.issuer == settings.issuer.trimmingSuffix("/") || endpoints.issuer == settings.issuer else {
            throw ConsoleAuthError.provider("discovery document names issuer \(endpoints.issuer), not \(settings.issuer)")
        }
        for endpoint in [endpoints.authorizationEndpoint, endpoints.tokenEndpoint, endpoints.jwksURI] where !HTTPClient.isWebURL(endpoint) {
            throw ConsoleAuthError.provider("discovery document names a non-http(s) endpoint \(endpoint)")
        }
        discovered.value = endpoints
        return endpoints
    }

    /// Where to send the browser, and what to keep until it comes back.
    func start(next: String, now: Int = Int(Date().timeIntervalSince1970)) async throws -> (url: String, pending: Pending) {
        let endpoints = try await endpoints()
        let pending = Pending(
            state: RandomToken.make(), nonce: RandomToken.make(), verifier: RandomToken.make(), expires: now + 600, next: next)
        let challenge = Base64URL.encode(SHA256.hash(data: Array(pending.verifier.utf8)))
        let query = [
            ("response_type", "code"), ("client_id", settings.clientID), ("redirect_uri", settings.redirectURI),
            ("scope", "openid profile email"), ("state", pending.state), ("nonce", pending.nonce),
            ("code_challenge", challenge), ("code_challenge_method", "S256"),
        ].map { "\($0.0)=\(PercentEncoding.component($0.1))" }.joined(separator: "&")
        let separator = endpoints.authorizationEndpoint.contains("?") ? "&" : "?"
        return (endpoints.authorizationEndpoint + separator + query, pending)
    }

    /// Finishes the round trip: the code exchanged (with the PKCE verifier) for an ID token, the
    /// token verified, the role read.
    func finish(code: String, state: String, pending: Pending, now: Int = Int(Date().timeIntervalSince1970)) async throws -> Identity {
        guard pending.expires > now else { throw ConsoleAuthError.refused("the sign-in took too long; start again") }
        guard ConsoleAccess.same(state, pending.state) else {
            throw ConsoleAuthError.refused("the sign-in's state does not match; start again")
        }
        let endpoints = try await endpoints()
        var form = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", settings.redirectURI),
            ("client_id", settings.clientID), ("code_verifier", pending.verifier),
        ]
        if let secret = settings.clientSecret { form.append(("client_secret", secret)) }
        let body = form.map { "\($0.0)=\(PercentEncoding.component($0.1))" }.joined(separator: "&")
        let response = try await http.send(
            HTTPClient.Request(
                "POST", endpoints.tokenEndpoint,
                headers: [
                    ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"),
                ], body: Array(body.utf8), timeout: .seconds(10), maxResponseBytes: 1 << 20))
        guard response.status == 200 else {
            throw ConsoleAuthError.refused("the provider refused the code (\(response.status)): \(String(response.text.prefix(200)))")
        }
        guard let answer = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let token = answer["id_token"] as? String
        else {
            throw ConsoleAuthError.refused("the provider's answer carries no id_token")
        }
        return try await verify(idToken: token, nonce: pending.nonce, now: now)
    }

    /// Checks an ID token: signature by a key of the provider's JWKS, issuer, audience, expiry,
    /// nonce; then its role.
    func verify(idToken token: String, nonce: String, now: Int = Int(Date().timeIntervalSince1970)) async throws -> Identity {
        let claims: IDTokenClaims
        do {
            claims = try await verified(token)
        } catch let error as ConsoleAuthError {
            throw error
        } catch {
            throw ConsoleAuthError.refused("the ID token does not verify: \(error)")
        }
        let issuer = try await endpoints().issuer
        guard claims.iss == issuer else { throw ConsoleAuthError.refused("the ID token is from \(claims.iss), not \(issuer)") }
        guard claims.aud.contains(settings.clientID) else {
            throw ConsoleAuthError.refused("the ID token is for \(claims.aud.joined(separator: ", ")), not \(settings.clientID)")
        }
        guard Double(now) < claims.exp else { throw ConsoleAuthError.refused("the ID token has expired") }
        // A minute for clocks that differ; a token not yet valid, or issued in the future, is not taken.
        if let notBefore = claims.nbf, notBefore > Double(now + 60) {
            throw ConsoleAuthError.refused("the ID token is not valid yet (nbf)")
        }
        if let issued = claims.iat, issued > Double(now + 60) {
            throw ConsoleAuthError.refused("the ID token was issued in the future (iat)")
        }
        guard let found = claims.nonce, ConsoleAccess.same(found, nonce) else {
            throw ConsoleAuthError.refused("the ID token's nonce does not match")
        }
        let payload = try Self.payload(of: token)
        let roles = Self.strings(at: settings.rolesClaim, in: payload)
        let role: VisitorRole
        if roles.contains(settings.operatorRole) {
            role = .operator
        } else if roles.contains(settings.viewerRole) {
            role = .viewer
        } else {
            throw ConsoleAuthError.forbidden(
                "\(claims.preferredUsername ?? claims.sub) has neither \(settings.operatorRole) nor \(settings.viewerRole) in \(settings.rolesClaim)"
            )
        }
        return Identity(subject: claims.sub, name: claims.preferredUsername ?? claims.name ?? claims.email ?? claims.sub, role: role)
    }

    private func verified(_ token: String) async throws -> IDTokenClaims {
        try await loadKeys(force: false)
        do {
            return try await keys.verify(token, as: IDTokenClaims.self)
        } catch {
            // A key the provider added since: fetch the set again (at most once a minute) and retry once.
            guard try await loadKeys(force: true) else { throw error }
            return try await keys.verify(token, as: IDTokenClaims.self)
        }
    }

    /// Fetches the JWKS when never fetched, or when `force` and the last fetch is a minute old;
    /// true when it fetched.
    @discardableResult
    private func loadKeys(force: Bool) async throws -> Bool {
        let now = Int(Date().timeIntervalSince1970)
        if let last = keysFetched.value, !force || now - last < 60 { return false }
        let url = try await endpoints().jwksURI
        let response = try await http.send(
            HTTPClient.Request("GET", url, headers: [("Accept", "application/json")], timeout: .seconds(10), maxResponseBytes: 1 << 20))
        guard response.status == 200 else { throw ConsoleAuthError.provider("the JWKS \(url) answered \(response.status)") }
        try await add(jwks: response.body, from: url)
        keysFetched.value = now
        return true
    }

    /// Adds each key of a JWKS that jwt-kit can use, one by one: a key of a type it does not know
    /// (a provider may list encryption keys or new algorithms beside its signing keys) is skipped,
    /// not the reason every sign-in fails. A set with no usable key is the provider's fault.
    private func add(jwks body: [UInt8], from url: String) async throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let listed = object["keys"] as? [Any]
        else {
            throw ConsoleAuthError.provider("the JWKS \(url) is not a key set")
        }
        var usable = 0
        for key in listed {
            do {
                let jwk = try JSONDecoder().decode(JWK.self, from: try JSONSerialization.data(withJSONObject: key))
                try await keys.add(jwk: jwk)
                usable += 1
            } catch {
                let kid = (key as? [String: Any])?["kid"] as? String ?? "?"
                logger.notice(
                    "a key of the provider's JWKS is skipped: it cannot verify tokens here",
                    metadata: ["kid": "\(kid.prefix(64))", "kty": "\(((key as? [String: Any])?["kty"] as? String ?? "?").prefix(16))"])
            }
        }
        guard usable > 0 else { throw ConsoleAuthError.provider("the JWKS \(url) holds no key this console can use") }
    }

    /// The token's claims as JSON (its signature already checked).
    static func payload(of token: String) throws -> [String: Any] {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let data = Base64URL.decode(String(parts[1])),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw ConsoleAuthError.refused("the ID token is not a JWT")
        }
        return object
    }

    /// The strings at a dotted path (`realm_access.roles`): an array of strings, or one string.
    static func strings(at path: String, in object: [String: Any]) -> [String] {
        var current: Any? = object
        for key in path.split(separator: ".") { current = (current as? [String: Any])?[String(key)] }
        if let list = current as? [Any] { return list.compactMap { $0 as? String } }
        return (current as? String).map { [$0] } ?? []
    }
}

/// The ID token claims the console reads; the roles claim is read from the raw payload.
struct IDTokenClaims: JWTPayload {
    var iss: String
    var sub: String
    var aud: [String]
    var exp: Double
    var nbf: Double?
    var iat: Double?
    var nonce: String?
    var name: String?
    var email: String?
    var preferredUsername: String?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, nbf, iat, nonce, name, email
        case preferredUsername = "preferred_username"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        iss = try container.decode(String.self, forKey: .iss)
        sub = try container.decode(String.self, forKey: .sub)
        // A single audience may be a string.
        if let one = try? container.decode(String.self, forKey: .aud) {
            aud = [one]
        } else {
            aud = try container.decode([String].self, forKey: .aud)
        }
        exp = try container.decode(Double.self, forKey: .exp)
        nbf = try container.decodeIfPresent(Double.self, forKey: .nbf)
        iat = try container.decodeIfPresent(Double.self, forKey: .iat)
        nonce = try container.decodeIfPresent(String.self, forKey: .nonce)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        email = try container.decodeIfPresent(String.self, forKey: .email)
        preferredUsername = try container.decodeIfPresent(String.self, forKey: .preferredUsername)
    }

    /// Expiry, issuer, audience and nonce are checked by `OpenIDLogin.verify`, which knows what to expect.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Why a sign-in or a request was not let in.
enum ConsoleAuthError: Error, CustomStringConvertible {
    /// The provider could not be used (unreachable, misconfigured).
    case provider(String)
    /// What the browser or the provider brought back does not hold.
    case refused(String)
    /// Signed in, but with no role for the console.
    case forbidden(String)

    var description: String {
        switch self {
        case .provider(let text), .refused(let text), .forbidden(let text): text
        }
    }
}

/// One value shared by every request, set once it is known.
final class ConsoleCache<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)
    var value: Value? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
