import Crypto
import Foundation
import Queue
import Redis

/// Sessions signed out before their time. A session cookie is sealed, not stored, so signing out
/// in the browser alone would leave a copied cookie valid until it expires; signing out writes the
/// session's mark to Redis (`{p}:console:ended:<mark>`, kept until the session would have ended),
/// and every replica refuses a cookie so marked.
struct EndedSessions: Sendable {
    let pool: RedisPool
    let keys: Keys

    /// The mark of a session: a digest of its CSRF token (random, one per session), never the token.
    static func mark(_ session: ConsoleSession) -> String {
        SHA256.hash(data: Array("ended\u{0}\(session.csrf)".utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    func end(_ session: ConsoleSession, now: Int = Int(Date().timeIntervalSince1970)) async throws {
        _ = try await pool.send("SET", keys.consoleEnded(Self.mark(session)), "1", "EX", String(max(session.expires - now, 1)))
    }

    func isEnded(_ session: ConsoleSession) async throws -> Bool {
        try await pool.send("EXISTS", keys.consoleEnded(Self.mark(session))).integer == 1
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// A console session signed out before its time (its mark; kept until it would have expired).
    public func consoleEnded(_ mark: String) -> String { named("console:ended:\(mark)") }
}
