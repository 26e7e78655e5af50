import Crypto
import Foundation
import Queue
import Services

/// Whom a `privacy find` or `forget` is about, and how: one identifier (a phone number in any
/// format, an email, or a Chatwoot contact id), whether to remove (`forget`), only show what would
/// go (`dryRun`), and keep dead letters without their payload instead of removing them (`redact`).
///
/// The identifier never travels in a job: it is kept in Redis under the request's id for as long
/// as the run takes (`PrivacyJobs.ask`) and removed when it ends, so no queue, history or dead
/// letter ever holds it.
public struct PrivacyRequest: Codable, Sendable, Equatable {
    public var id: String
    public var phone: String?
    public var email: String?
    public var contact: Int?
    public var forget: Bool
    public var dryRun: Bool
    public var redact: Bool
    /// Who asked (an operator's name, `cli:<user>`), for the audit.
    public var requestedBy: String
    /// How long a forget waits for this person's running jobs to finish before it reports them.
    public var waitSeconds: Int

    public init(
        id: String = UUID().uuidString.lowercased(), phone: String? = nil, email: String? = nil, contact: Int? = nil,
        forget: Bool = false, dryRun: Bool = false, redact: Bool = false, requestedBy: String, waitSeconds: Int = 120
    ) {
        self.id = id
        self.phone = phone
        self.email = email
        self.contact = contact
        self.forget = forget
        self.dryRun = dryRun
        self.redact = redact
        self.requestedBy = requestedBy
        self.waitSeconds = waitSeconds
    }

    enum CodingKeys: String, CodingKey {
        case id, phone, email, contact, forget, redact
        case dryRun = "dry_run"
        case requestedBy = "requested_by"
        case waitSeconds = "wait_seconds"
    }

    /// What is wrong with it, said so the person who asked can mend it; nil when nothing is.
    public var problem: String? {
        let given = [phone != nil, email != nil, contact != nil].filter { $0 }.count
        guard given == 1 else { return "name exactly one person: a phone number, an email or a Chatwoot contact id" }
        if let phone, GuestConversation.digits(phone) == nil || phone.count > 40 {
            return "'\(phone.prefix(40))' is not a phone number (at least 6 digits)"
        }
        if let email {
            let trimmed = email.trimmingCharacters(in: .whitespaces)
            guard trimmed.count <= 254, trimmed.contains("@"), !trimmed.contains(where: \.isWhitespace) else {
                return "'\(email.prefix(60))' is not an email address"
            }
        }
        if let contact, contact <= 0 { return "a contact id is a positive number" }
        guard (0...3_600).contains(waitSeconds) else { return "the wait for running jobs is from 0 to 3600 seconds" }
        return nil
    }

    /// The identifier as the index keys it: `phone:<digits>`, `email:<lowercased>` or `contact:<id>`.
    public var key: String {
        if let phone, let digits = GuestConversation.digits(phone) { return "phone:\(digits)" }
        if let email { return "email:" + email.trimmingCharacters(in: .whitespaces).lowercased() }
        return "contact:\(contact ?? 0)"
    }

    /// What the audit keeps of the identifier: its SHA-256 (`sha256:` and 16 hex digits), so an
    /// auditor who has the identifier can tell it was forgotten, and the audit itself never holds it.
    public var hashed: String { "sha256:" + Hex.encode(Array(SHA256.hash(data: Array(key.utf8)).prefix(8))) }

    /// The identifier with most of it masked, as reports show it (`phone …5678`, `email a…@example.com`).
    public var masked: String {
        if let phone, let digits = GuestConversation.digits(phone) { return "phone …" + digits.suffix(4) }
        if let email {
            let lower = email.trimmingCharacters(in: .whitespaces).lowercased()
            let parts = lower.split(separator: "@", maxSplits: 1)
            return "email " + (parts.first?.prefix(1) ?? "") + "…@" + (parts.count > 1 ? parts[1] : "")
        }
        return "contact \(contact ?? 0)"
    }
}
