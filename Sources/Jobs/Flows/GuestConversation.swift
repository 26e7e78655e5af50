import Foundation
import Services

/// Finds the Chatwoot conversation a call or a booking belongs to: the contact whose phone number
/// or email is the caller's or the guest's, then that contact's most recently active conversation.
///
/// Chatwoot's search matches substrings of names, emails and numbers, so every candidate is checked
/// for an exact match (phone numbers compared by their digits) before it is used: a note about one
/// guest never lands in another guest's conversation.
enum GuestConversation {
    /// The latest conversation of the contact with this phone number or email (tried in that
    /// order), or nil when no contact matches exactly or the contact has no conversation.
    static func latest(_ chatwoot: ChatwootClient, account: Int, phone: String?, email: String?) async throws -> Int? {
        guard let contact = try await contact(chatwoot, account: account, phone: phone, email: email) else { return nil }
        return try await latest(chatwoot, account: account, contact: contact)
    }

    /// The contact whose phone number (by its digits) or email (tried in that order) is exactly this.
    static func contact(_ chatwoot: ChatwootClient, account: Int, phone: String?, email: String?) async throws -> Int? {
        if let phone, let digits = digits(phone) {
            let contacts = try await chatwoot.searchContacts(account: account, query: digits)
            if let contact = contacts.first(where: { $0.phoneNumber.flatMap(Self.digits) == digits }) { return contact.id }
        }
        if let email = email?.trimmingCharacters(in: .whitespaces).lowercased(), email.contains("@") {
            let contacts = try await chatwoot.searchContacts(account: account, query: email)
            if let contact = contacts.first(where: { $0.email?.lowercased() == email }) { return contact.id }
        }
        return nil
    }

    static func latest(_ chatwoot: ChatwootClient, account: Int, contact: Int) async throws -> Int? {
        let conversations = try await chatwoot.conversations(account: account, contact: contact)
        return conversations.max { ($0.lastActivity, $0.id) < ($1.lastActivity, $1.id) }?.id
    }

    /// A phone number's digits (`+33 6 12 34 56 78` → `33612345678`), nil when too short to be one.
    static func digits(_ phone: String) -> String? {
        let digits = phone.filter(\.isASCII).filter(\.isNumber)
        return digits.count >= 6 ? digits : nil
    }
}
