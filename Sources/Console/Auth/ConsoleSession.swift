import Crypto
import Foundation

/// What a visitor may do: viewers see, operators act.
public enum VisitorRole: String, Sendable, Codable, Comparable {
    case viewer, `operator`

    public static func < (lhs: VisitorRole, rhs: VisitorRole) -> Bool { lhs == .viewer && rhs == .operator }
}

/// A signed-in visitor as the session cookie carries them: who, with which role, until when, and
/// the token their forms must echo (CSRF).
struct ConsoleSession: Sendable, Codable, Equatable {
    var subject: String
    var name: String
    var role: VisitorRole
    /// Unix seconds.
    var expires: Int
    var csrf: String

    static func make(subject: String, name: String, role: VisitorRole, lifetime: Int, now: Int = Int(Date().timeIntervalSince1970))
        -> ConsoleSession
    {
        ConsoleSession(subject: subject, name: name, role: role, expires: now + lifetime, csrf: RandomToken.make())
    }
}

/// Seals and opens session cookies: `<base64url JSON>.<base64url HMAC-SHA256>`, under a key every
/// console replica shares. A cookie whose MAC does not match, that does not decode, or whose time
/// is over opens to nothing.
struct SessionSeal: Sendable {
    let key: SymmetricKey

    init(secret: String) {
        key = SymmetricKey(data: SHA256.hash(data: Array("switchboard console session\u{0}\(secret)".utf8)))
    }

    func seal<Value: Encodable>(_ value: Value) -> String {
        let body = Base64URL.encode((try? JSONEncoder().encode(value)) ?? Data())
        let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: key)
        return body + "." + Base64URL.encode(Data(mac))
    }

    func open<Value: Decodable>(_ text: String, as type: Value.Type) -> Value? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count < 8192, let mac = Base64URL.decode(String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array(parts[0].utf8), using: key),
            let body = Base64URL.decode(String(parts[0]))
        else { return nil }
        return try? JSONDecoder().decode(Value.self, from: body)
    }

    /// A MAC of `text` under the console's key, for a text the console hands the browser and
    /// shows again (a notice in a redirect): only what the console wrote is shown.
    func mark(_ text: String) -> String {
        Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Array("notice\u{0}\(text)".utf8), using: key)))
    }

    func isMarked(_ text: String, _ mark: String) -> Bool {
        guard let mac = Base64URL.decode(mark) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array("notice\u{0}\(text)".utf8), using: key)
    }

    func open(session text: String, now: Int = Int(Date().timeIntervalSince1970)) -> ConsoleSession? {
        guard let session = open(text, as: ConsoleSession.self), session.expires > now else { return nil }
        return session
    }
}

/// Unpadded base64url (RFC 4648 §5), as cookies, PKCE and JWTs use it.
enum Base64URL {
    static func encode(_ data: some Sequence<UInt8>) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> Data? {
        guard text.utf8.allSatisfy({ $0 == 45 || $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
        else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}

/// 32 random bytes from the system's generator, base64url: session CSRF tokens, OIDC state,
/// nonce and PKCE verifier.
enum RandomToken {
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
