import Foundation
import Queue
import Services

/// A new conversation triaged at once (`conversation.triage`, queue `triage`): its contact is
/// matched to a kept reservation (phone digits, then email — `ReservationIndex`, no call to
/// Guesty), the conversation labelled with the stay's phase and given that phase's team; a contact
/// with no reservation is an `inquiry`. Started by the producer for Chatwoot's
/// `conversation_created`, and for the first `message_created` of a conversation where only the
/// agent bot's events arrive; deduplicated per conversation, and quiet when run again.
public enum ConversationTriage {
    public static let kind = "conversation.triage"
    public static let queue = BookingFlow.triageQueue

    public static func definition(_ services: FlowServices) -> JobDefinition {
        JobDefinition(kind: kind, queue: queue, retry: Flows.booking.retry, timeout: .seconds(60), payload: NewConversation.self) {
            new, context in
            if let contact = new.contactID {
                // Only the conversation: the phone and email a contact typed are not vouched for.
                try await KnownContacts.record(
                    pool: context.redis, keys: services.keys, account: new.accountID, contact: contact, identities: [],
                    conversation: new.conversationID)
            }
            let reservation = try await ReservationIndex(pool: context.redis, keys: services.keys).find(phone: new.phone, email: new.email)
            var decision = StayPhase.Decision.label(.inquiry)
            if let reservation {
                decision = StayPhase.decide(
                    status: reservation.status, checkIn: reservation.checkIn, checkOut: reservation.checkOut, today: services.today())
                // A stay that fell through, or one whose dates are unknown: the guest is asking again.
                if decision == .clear || decision == .unknown { decision = .label(.inquiry) }
            }
            context.logger.info(
                "conversation triaged",
                metadata: [
                    "chatwoot.conversation": "\(new.conversationID)", "decision": "\(decision)",
                    "guesty.reservation": "\(reservation?.reservationID ?? "none")",
                ])
            try await Triage.apply(services, account: new.accountID, conversation: new.conversationID, decision)
            return .done
        }
    }
}

/// A conversation Chatwoot just created (or the first message of one), with what identifies its
/// contact: the triage job's payload.
public struct NewConversation: Codable, Sendable, Equatable {
    public var accountID: Int
    public var conversationID: Int
    public var phone: String?
    public var email: String?
    /// The conversation's contact, recorded as one Switchboard holds data about (`KnownContacts`).
    public var contactID: Int?

    public init(accountID: Int, conversationID: Int, phone: String?, email: String?, contactID: Int? = nil) {
        self.accountID = accountID
        self.conversationID = conversationID
        self.phone = phone
        self.email = email
        self.contactID = contactID
    }

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case conversationID = "conversation_id"
        case phone, email
        case contactID = "contact_id"
    }

    /// The job, deduplicated per conversation: the first of its events starts it, the others find it.
    public func request() throws -> (JobRequest, dedupe: String) {
        let dedupe = "chatwoot:\(accountID):conversation:\(conversationID):triage"
        let text = String(decoding: try FlowPayloadCoding.encoder.encode(self), as: UTF8.self)
        return (
            JobRequest(
                queue: ConversationTriage.queue, kind: ConversationTriage.kind, payload: text, maxAttempts: Flows.booking.retry.maxAttempts,
                dedupe: dedupe), dedupe
        )
    }
}
