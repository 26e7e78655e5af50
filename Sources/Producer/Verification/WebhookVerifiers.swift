import Crypto
import Foundation
import Services

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
        case .staleTimestamp(let off): "timestamp \(off) s away from now (tolerance \(SignedTimestamp.tolerance) s)"
        case .badSignature: "no signature matches"
        case .badToken: "token does not match"
        }
    }
}

/// A sender's signed timestamp checked against our clock, either way (Svix's and Chatwoot's
/// 5 minutes). Any number a header can carry is handled without overflow: `-9223372036854775808`
/// is merely stale.
enum SignedTimestamp {
    static let tolerance = 300

    static func check(_ text: String, header: String, now: Int) throws(WebhookRejection) {
        guard let seconds = Int(text) else { throw .malformedHeader(header) }
        let (off, overflow) = seconds.subtractingReportingOverflow(now)
        if overflow { throw .staleTimestamp(secondsOff: seconds < now ? Int.min : Int.max) }
        guard off.magnitude <= UInt(tolerance) else { throw .staleTimestamp(secondsOff: off) }
    }
}

/// The three Svix headers of one delivery. A white-labelled Svix sends them under the Standard
/// Webhooks names (`webhook-id`, `webhook-timestamp`, `webhook-signature`) instead of `svix-*`,
/// with the same values and the same signature; the Svix libraries accept both, and so do we.
public struct SvixHeaders: Sendable, Equatable {
    public var id: String?
    public var timestamp: String?
    public var signature: String?
    /// `svix` or `webhook`: the names they came under, for messages.
    public var prefix: String

    public init(id: String?, timestamp: String?, signature: String?, prefix: String = "svix") {
        self.id = id
        self.timestamp = timestamp
        self.signature = signature
        self.prefix = prefix
    }

    /// Reads the `svix-*` set when the delivery carries any of it, else the `webhook-*` set.
    public init(header: (String) -> String?) {
        let prefix = ["svix-id", "svix-timestamp", "svix-signature"].contains(where: { header($0) != nil }) ? "svix" : "webhook"
        self.init(
            id: header("\(prefix)-id"), timestamp: header("\(prefix)-timestamp"), signature: header("\(prefix)-signature"), prefix: prefix)
    }
}

/// Verifies Svix-signed deliveries (Guesty): HMAC-SHA256 under the base64 key after `whsec_`, over
/// `"{id}.{timestamp}.{raw body}"`, base64, compared in constant time (swift-crypto) with every
/// `v1,` entry of the signature header; the timestamp within ±5 minutes.
public struct SvixVerifier: Sendable {
    /// The MAC with the key already mixed in, copied for each delivery: keying it was a third of
    /// the cost of checking a small body.
    private let keyed: HMAC<SHA256>

    /// Fails with a message naming what is wrong with the secret (never the secret itself).
    public init(secret: String) throws {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let key = Data(base64Encoded: encoded), !key.isEmpty else {
            throw ConfigurationError("GUESTY_WEBHOOK_SECRET is not a Svix secret (expected whsec_ followed by base64)")
        }
        keyed = HMAC<SHA256>(key: SymmetricKey(data: key))
    }

    public func verify(_ headers: SvixHeaders, body: [UInt8], now: Int = Int(Date().timeIntervalSince1970)) throws(WebhookRejection) {
        guard let id = headers.id, !id.isEmpty else { throw .missingHeader("\(headers.prefix)-id") }
        guard let timestamp = headers.timestamp else { throw .missingHeader("\(headers.prefix)-timestamp") }
        guard let signature = headers.signature else { throw .missingHeader("\(headers.prefix)-signature") }
        try SignedTimestamp.check(timestamp, header: "\(headers.prefix)-timestamp", now: now)
        var mac = keyed
        mac.update(data: Array("\(id).\(timestamp).".utf8))
        mac.update(data: body)
        let expected = mac.finalize()
        var matched = false
        for entry in signature.split(separator: " ") {
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let candidate = Data(base64Encoded: String(parts[1])) else { continue }
            if expected == candidate { matched = true }
        }
        guard matched else { throw .badSignature }
    }
}

/// Chatwoot's signature (docs/contracts.md §1a): `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256>` over
/// `"{timestamp}.{raw body}"`, the timestamp within ±5 minutes. An account webhook and an agent bot
/// sign with secrets of their own (§1e); a delivery signed with any of the configured secrets is
/// taken. Every secret is checked, each in constant time, whichever matches, so the time taken
/// tells a forger nothing about which came close.
public struct ChatwootVerifier: Sendable {
    private let keys: [SymmetricKey]

    public init(secret: String) {
        self.init(secrets: [secret])
    }

    public init(secrets: [String]) {
        keys = secrets.map { SymmetricKey(data: Array($0.utf8)) }
    }

    public func verify(signature: String?, timestamp: String?, body: [UInt8], now: Int = Int(Date().timeIntervalSince1970))
        throws(WebhookRejection)
    {
        guard let signature else { throw .missingHeader("X-Chatwoot-Signature") }
        guard let timestamp else { throw .missingHeader("X-Chatwoot-Timestamp") }
        guard signature.hasPrefix("sha256="), let given = Hex.decode(String(signature.dropFirst(7))) else {
            throw .malformedHeader("X-Chatwoot-Signature")
        }
        try SignedTimestamp.check(timestamp, header: "X-Chatwoot-Timestamp", now: now)
        let signed = Array("\(timestamp).".utf8) + body
        let matches = keys.map { HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: signed, using: $0) }
        guard matches.contains(true) else { throw .badSignature }
    }
}

/// A shared token (Aircall's, the voice upload's bearer) compared without telling a guesser, by
/// timing, how much of it was right: both sides are hashed and the digests compared with
/// swift-crypto's constant-time equality, so neither the content nor the length shows.
public struct SecretToken: Sendable {
    private let digest: SHA256.Digest

    public init(_ token: String) {
        digest = SHA256.hash(data: Array(token.utf8))
    }

    public func matches(_ candidate: some StringProtocol) -> Bool {
        SHA256.hash(data: Array(candidate.utf8)) == digest
    }
}

/// Aircall's authenticity check: no signature, only the body's `token` compared in constant time
/// with the webhook's own token.
public struct AircallTokenCheck: Sendable {
    private let token: SecretToken

    public init(token: String) {
        self.token = SecretToken(token)
    }

    public func verify(bodyToken: String?) throws(WebhookRejection) {
        guard let bodyToken, token.matches(bodyToken) else { throw .badToken }
    }
}
