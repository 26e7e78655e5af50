import Digests
import Foundation

/// Why a webhook was refused. The reason is for our logs only: the sender gets a bare 401, so a
/// forger learns nothing about which part failed.
public enum WebhookRejection: Error, Equatable, CustomStringConvertible {
    case missingHeader(String)
    case malformedHeader(String)
    case staleTimestamp(secondsOff: Int)
    case badSignature
    case badToken

    public var description: String {
        switch self {
        case .missingHeader(let name): "missing \(name)"
        case .malformedHeader(let name): "malformed \(name)"
        case .staleTimestamp(let off): "timestamp \(off) s away from now (tolerance 300 s)"
        case .badSignature: "no signature matches"
        case .badToken: "token does not match"
        }
    }
}

/// How far a signed timestamp may be from our clock, either way (Svix's and Chatwoot's 5 minutes).
let webhookTolerance = 300

/// Verifies Svix-signed deliveries (Guesty): HMAC-SHA256 under the base64 key after `whsec_`, over
/// `"{svix-id}.{svix-timestamp}.{raw body}"`, base64, compared in constant time with every `v1,`
/// entry of `svix-signature`; the timestamp within ±5 minutes.
public struct SvixVerifier: Sendable {
    private let key: HMACKey

    /// Fails with a message naming what is wrong with the secret (never the secret itself).
    public init(secret: String) throws {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let key = Data(base64Encoded: encoded), !key.isEmpty else {
            throw ConfigurationError("GUESTY_WEBHOOK_SECRET is not a Svix secret (expected whsec_ followed by base64)")
        }
        self.key = HMACKey(Array(key))
    }

    public func verify(id: String?, timestamp: String?, signature: String?, body: [UInt8], now: Int = Int(Date().timeIntervalSince1970)) throws(WebhookRejection) {
        guard let id, !id.isEmpty else { throw .missingHeader("svix-id") }
        guard let timestamp else { throw .missingHeader("svix-timestamp") }
        guard let signature else { throw .missingHeader("svix-signature") }
        guard let seconds = Int(timestamp) else { throw .malformedHeader("svix-timestamp") }
        guard abs(now - seconds) <= webhookTolerance else { throw .staleTimestamp(secondsOff: seconds - now) }
        let expected = key.authenticate(Array("\(id).\(timestamp).".utf8), body)
        var matched = false
        for entry in signature.split(separator: " ") {
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let candidate = Data(base64Encoded: String(parts[1])) else { continue }
            if ConstantTime.equal(Array(candidate), expected) { matched = true }
        }
        guard matched else { throw .badSignature }
    }
}

/// Verifies Chatwoot's signed webhooks (v4.11.2+): `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256>`
/// over `"{X-Chatwoot-Timestamp}.{raw body}"`, the timestamp within ±5 minutes.
public struct ChatwootVerifier: Sendable {
    private let key: HMACKey

    public init(secret: String) {
        key = HMACKey(Array(secret.utf8))
    }

    public func verify(signature: String?, timestamp: String?, body: [UInt8], now: Int = Int(Date().timeIntervalSince1970)) throws(WebhookRejection) {
        guard let signature else { throw .missingHeader("X-Chatwoot-Signature") }
        guard let timestamp else { throw .missingHeader("X-Chatwoot-Timestamp") }
        guard let seconds = Int(timestamp) else { throw .malformedHeader("X-Chatwoot-Timestamp") }
        guard signature.hasPrefix("sha256="), let given = Hex.decode(String(signature.dropFirst(7))) else {
            throw .malformedHeader("X-Chatwoot-Signature")
        }
        guard abs(now - seconds) <= webhookTolerance else { throw .staleTimestamp(secondsOff: seconds - now) }
        let expected = key.authenticate(Array("\(timestamp).".utf8), body)
        guard ConstantTime.equal(given, expected) else { throw .badSignature }
    }
}

/// Aircall's authenticity check: no signature, only the body's `token` compared in constant time
/// with the webhook's own token.
public struct AircallTokenCheck: Sendable {
    private let token: [UInt8]

    public init(token: String) {
        self.token = Array(token.utf8)
    }

    public func verify(bodyToken: String?) throws(WebhookRejection) {
        guard let bodyToken, ConstantTime.equal(Array(bodyToken.utf8), token) else { throw .badToken }
    }
}

/// A configuration problem found at start-up, naming the variable.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
