import Foundation
import Services

/// One person as Switchboard can recognise them in what it holds: their knowledge keys (the
/// `phone:<digits>` and `email:<lowercased>` that calls, bookings and verified conversations
/// carry), their Chatwoot contacts and conversations (in the deployment's account), their calls
/// and reservations, and — once their jobs are found — those jobs' flows and the blobs they name.
///
/// Built by `PersonalData.resolve` from one identifier and what links it to the rest: Chatwoot's
/// contact, the contacts Switchboard has met (`KnownContacts`), reservations, conversations'
/// verified identities and the knowledge points' keys — one step out, never a chain of hops that
/// would take in a whole family's data through a shared number.
public struct DataSubject: Sendable, Equatable {
    public var account: Int
    public var keys: Set<String> = []
    public var contacts: Set<Int> = []
    public var conversations: Set<Int> = []
    public var calls: Set<Int> = []
    public var reservations: Set<String> = []
    public var flows: Set<String> = []
    public var blobs: Set<String> = []

    public init(account: Int) {
        self.account = account
    }

    var phoneDigits: Set<String> { Set(keys.filter { $0.hasPrefix("phone:") }.map { String($0.dropFirst(6)) }) }
    var emails: Set<String> { Set(keys.filter { $0.hasPrefix("email:") }.map { String($0.dropFirst(6)) }) }

    /// Whether a phone number written any way is one of this person's (compared by digits, as triage compares).
    func hasPhone(_ text: String) -> Bool { GuestConversation.digits(text).map(phoneDigits.contains) ?? false }
    func hasEmail(_ text: String) -> Bool { emails.contains(text.trimmingCharacters(in: .whitespaces).lowercased()) }

    /// Whether a job's payload (JSON text) is about this person: a conversation of theirs in this
    /// account, their phone (`raw_digits`, `guest_phone`, `phone`) or email (`guest_email`,
    /// `email`), one of their knowledge keys (`key`, `guest_keys`, `contact`), a call or
    /// reservation of theirs — anywhere in the payload's tree.
    public func matches(payload text: String) -> Bool {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return false }
        return matches(value)
    }

    func matches(_ value: JSONValue) -> Bool {
        switch value {
        case .array(let items): return items.contains { matches($0) }
        case .object(let fields): return matches(object: fields)
        default: return false
        }
    }

    private func matches(object fields: [String: JSONValue]) -> Bool {
        let accountMatches = fields["account_id"].map { $0 == .integer(account) } ?? true
        if accountMatches, case .integer(let conversation)? = fields["conversation_id"], conversations.contains(conversation) {
            return true
        }
        for name in ["raw_digits", "guest_phone", "phone"] {
            if case .string(let text)? = fields[name], hasPhone(text) { return true }
        }
        for name in ["guest_email", "email"] {
            if case .string(let text)? = fields[name], hasEmail(text) { return true }
        }
        if case .string(let key)? = fields["key"], keys.contains(key) { return true }
        if case .string(let given)? = fields["contact"], hasPhone(given) || hasEmail(given) { return true }
        if case .array(let list)? = fields["guest_keys"], list.contains(where: { $0.string.map(keys.contains) ?? false }) { return true }
        if case .integer(let call)? = fields["call_id"], calls.contains(call) { return true }
        if case .string(let reservation)? = fields["reservation_id"], reservations.contains(reservation) { return true }
        return fields.values.contains { matches($0) }
    }

    /// The blob references a payload names (`blob` fields), to remove with the person's blobs.
    static func blobReferences(in text: String) -> [String] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return [] }
        var found: [String] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .array(let items): items.forEach(walk)
            case .object(let fields):
                if case .string(let reference)? = fields["blob"] { found.append(reference) }
                fields.values.forEach(walk)
            default: break
            }
        }
        walk(value)
        return found
    }
}
