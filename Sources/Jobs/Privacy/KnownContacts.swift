import Foundation
import Queue
import Redis

/// The Chatwoot contacts Switchboard holds something about, with the knowledge keys and
/// conversations it met them with — so that a person can be forgotten after Chatwoot deleted
/// them, when Chatwoot can no longer say who they were. Recorded where a flow learns a contact:
/// a guest's message (its sender and conversation), a call's note and a booking's triage (the
/// contact found for a phone or email).
///
/// A hash per contact (`k:<key>` and `c:<conversation>` → when last seen) and a set of them all,
/// so a record is only ever added to — two stages recording at once lose nothing — and kept as long
/// as anything about the contact may be (`kept`), refreshed on every record.
public enum KnownContacts {
    /// Longer than any retention a deployment would set: the record outlives the data it points at.
    static let kept = 3 * 366 * 86_400

    /// What is known of one contact.
    public struct Known: Sendable, Equatable {
        public var contact: Int
        public var keys: Set<String>
        public var conversations: Set<Int>
    }

    /// Records that `contact` (of `account`) was met with these keys and this conversation.
    static func record(pool: RedisPool, keys: Keys, account: Int, contact: Int, identities: [String], conversation: Int?) async throws {
        guard contact > 0 else { return }
        let key = keys.knownContact(account: account, contact: contact)
        let now = String(WallClock.unixMilliseconds())
        var fields: [String] = []
        for identity in identities { fields += ["k:" + identity, now] }
        if let conversation, conversation > 0 { fields += ["c:\(conversation)", now] }
        guard !fields.isEmpty else { return }
        _ = try await pool.pipeline([
            RedisCommand("HSET", [key] + fields), RedisCommand("EXPIRE", [key, String(kept)]),
            RedisCommand("SADD", [keys.knownContacts, "\(account):\(contact)"]),
        ])
    }

    /// What is known of `contact`, or nil.
    static func known(pool: RedisPool, keys: Keys, account: Int, contact: Int) async throws -> Known? {
        let fields = try await pool.send("HGETALL", keys.knownContact(account: account, contact: contact)).pairs
        guard !fields.isEmpty else { return nil }
        return known(contact, fields.map(\.key))
    }

    static func known(_ contact: Int, _ fields: [String]) -> Known {
        var found = Known(contact: contact, keys: [], conversations: [])
        for field in fields {
            if field.hasPrefix("k:") { found.keys.insert(String(field.dropFirst(2))) }
            if field.hasPrefix("c:"), let id = Int(field.dropFirst(2)) { found.conversations.insert(id) }
        }
        return found
    }

    /// Hands every known contact of `account` to `body`, a page at a time.
    static func forEach(pool: RedisPool, keys: Keys, account: Int, _ body: ([Known]) async throws -> Void) async throws {
        try await pool.scan("SSCAN", key: keys.knownContacts, count: 200) { page in
            let contacts = (page.array ?? []).compactMap(\.string).compactMap { member -> Int? in
                let pieces = member.split(separator: ":")
                guard pieces.count == 2, Int(pieces[0]) == account else { return nil }
                return Int(pieces[1])
            }
            guard !contacts.isEmpty else { return }
            let replies = try await pool.pipeline(
                contacts.map { RedisCommand("HKEYS", [keys.knownContact(account: account, contact: $0)]) })
            try await body(zip(contacts, replies).map { known($0, ($1.array ?? []).compactMap(\.string)) })
        }
    }

    /// Forgets `contact`: its record and its place in the set.
    static func forget(pool: RedisPool, keys: Keys, account: Int, contact: Int) async throws -> Bool {
        let replies = try await pool.pipeline([
            RedisCommand("DEL", [keys.knownContact(account: account, contact: contact)]),
            RedisCommand("SREM", [keys.knownContacts, "\(account):\(contact)"]),
        ])
        return (replies[0].integer ?? 0) + (replies[1].integer ?? 0) > 0
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// Every contact Switchboard holds something about, as `<account>:<contact>` (a set).
    public var knownContacts: String { named("privacy:contacts") }
    /// One contact's knowledge keys (`k:…`) and conversations (`c:…`) → when last met (a hash).
    public func knownContact(account: Int, contact: Int) -> String { named("privacy:contact:\(account):\(contact)") }
}
