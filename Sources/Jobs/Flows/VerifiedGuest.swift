import Foundation
import Queue
import Redis

/// Who a conversation's guest is, as far as something other than the guest said so.
///
/// An agent's `@assistant` note draws on the guest's own calls and bookings; looking the guest up
/// by the contact's email or phone would hand Bob's booking to anyone who typed Bob's address into
/// a chat widget. Only these count: the number a phone channel (WhatsApp, SMS) carries the
/// conversation on, the caller's number of an Aircall call whose note reached this conversation,
/// and the phone and email of a Guesty reservation that reached it. Each identity says where it
/// was learnt, and the answer says which were used.
public struct VerifiedGuest: Codable, Sendable, Equatable {
    /// A knowledge key as calls and bookings carry it: `phone:<digits>` or `email:<lowercased>`.
    public var key: String
    /// Where it was learnt, as the answer's note says it.
    public var source: String

    public init(key: String, source: String) {
        self.key = key
        self.source = source
    }

    /// How long a conversation's verified identities are kept after the last was learnt.
    static let kept = 180 * 86_400

    /// The channels whose contact's phone number is the channel's own sender, not typed by the guest.
    static let phoneChannels: Set<String> = ["Channel::Whatsapp", "Channel::Sms", "Channel::TwilioSms"]

    /// The identity a conversation's channel vouches for: the number of a WhatsApp or SMS conversation.
    public static func fromChannel(_ channel: String?, phone: String?) -> [VerifiedGuest] {
        guard let channel, phoneChannels.contains(channel), let digits = phone.flatMap(GuestConversation.digits) else { return [] }
        let name = channel.dropFirst("Channel::".count)
        return [VerifiedGuest(key: "phone:\(digits)", source: "the number this \(name) conversation comes from")]
    }

    /// The identity an operator gives (`switchboard ask --contact`): a phone number, or an email.
    public static func given(_ contact: String) -> [VerifiedGuest] {
        let keys =
            contact.contains("@")
            ? ReservationIndex.contacts(phone: nil, email: contact) : ReservationIndex.contacts(phone: contact, email: nil)
        return keys.map { VerifiedGuest(key: $0, source: "given on the command line") }
    }

    /// Remembers identities a call or a reservation verified for the conversation.
    static func record(_ identities: [VerifiedGuest], pool: RedisPool, keys: Keys, account: Int, conversation: Int) async throws {
        guard !identities.isEmpty else { return }
        let key = keys.verifiedGuest(account: account, conversation: conversation)
        _ = try await pool.send(RedisCommand("HSET", [key] + identities.flatMap { [$0.key, $0.source] }))
        _ = try await pool.send("EXPIRE", key, String(kept))
    }

    /// The identities recorded for the conversation, sorted by key.
    static func recorded(pool: RedisPool, keys: Keys, account: Int, conversation: Int) async throws -> [VerifiedGuest] {
        try await pool.send("HGETALL", keys.verifiedGuest(account: account, conversation: conversation)).pairs
            .compactMap { pair in pair.value.string.map { VerifiedGuest(key: pair.key, source: $0) } }
            .sorted { $0.key < $1.key }
    }

    /// The line an agent's answer ends with, saying whose records it could draw on.
    static func note(_ identities: [VerifiedGuest]) -> String {
        guard !identities.isEmpty else {
            return
                "(No identity of this guest is verified — no call or reservation reached this conversation — so only shared knowledge was used.)"
        }
        return "(The guest's own records were looked up by " + identities.map { "\($0.key) — \($0.source)" }.joined(separator: "; ") + ".)"
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// Who a conversation's guest is, as something other than the guest said so: knowledge key
    /// (`phone:<digits>`, `email:<lowercased>`) → where it was learnt (a hash, kept 180 days).
    public func verifiedGuest(account: Int, conversation: Int) -> String { named("guest:\(account):\(conversation)") }
}
