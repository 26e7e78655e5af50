import Foundation
import Queue
import Services

/// A Guesty reservation change becomes knowledge and triage: `vectorize` (the reservation's facts
/// as one private point of the account's knowledge, overwritten by each change) → `triage` (the
/// guest's latest Chatwoot conversation labelled with the stay's phase, other phase labels taken
/// off, and assigned to the team configured for that phase).
///
/// Each delivery's stages hand off atomically, deduplicated per (delivery, stage). Triage reads
/// and merges labels, so running it again changes nothing; it never touches agents' own labels.
public enum BookingFlow {
    public static let triageKind = "booking.triage"
    public static let triageQueue = "triage"

    public static func definitions(_ services: FlowServices) -> [JobDefinition] {
        guard let account = services.account else { return [] }
        return [
            vectorize(services, account), triage(services, account), ConversationTriage.definition(services),
            PhaseAdvance.definition(services),
        ]
    }

    static func vectorize(_ services: FlowServices, _ account: Int) -> JobDefinition {
        JobDefinition(
            kind: Flows.booking.kind, queue: Flows.booking.queue, retry: Flows.booking.retry, timeout: .seconds(120),
            payload: BookingChange.self
        ) { booking, context in
            var facts: [String: JSONValue] = ["source": .string("booking"), "reservation_id": .string(booking.reservationID)]
            for (key, value) in [
                ("status", booking.status), ("check_in", booking.checkIn), ("check_out", booking.checkOut),
                ("guest_name", booking.guestName), ("guest_email", booking.guestEmail), ("guest_phone", booking.guestPhone),
                ("listing_id", booking.listingID), ("listing", booking.listingTitle),
                ("confirmation_code", booking.confirmationCode), ("channel", booking.source),
            ] {
                facts[key] = value.map(JSONValue.string)
            }
            facts["guest_keys"] = .array(
                ReservationIndex.contacts(phone: booking.guestPhone, email: booking.guestEmail).map(JSONValue.string))
            try await KnowledgeIndex.write(
                services, account: account, source: "guesty:reservation:\(booking.reservationID)",
                texts: [summary(booking)], payload: facts)
            let request = try Flows.booking.stage(triageKind, queue: triageQueue)
                .request(booking, dedupe: "booking:\(context.id):\(triageKind)", budgets: services.budgets)
            return .next(request)
        }
    }

    static func triage(_ services: FlowServices, _ account: Int) -> JobDefinition {
        JobDefinition(kind: triageKind, queue: triageQueue, retry: Flows.booking.retry, timeout: .seconds(60), payload: BookingChange.self)
        { change, context in
            // Kept for the triage of the guest's later conversations; a lean event is decided on
            // what is known of the reservation.
            let booking = try await ReservationIndex(pool: context.redis, keys: services.keys).record(change)
            let decision = StayPhase.decide(
                status: booking.status, checkIn: booking.checkIn, checkOut: booking.checkOut, today: services.today())
            let logger = context.logger
            guard decision != .unknown else {
                logger.info(
                    "the reservation does not say its phase; conversation left as it is",
                    metadata: ["guesty.reservation": "\(booking.reservationID)"])
                return .done
            }
            let contact = try await GuestConversation.contact(
                services.chatwoot, account: account, phone: booking.guestPhone, email: booking.guestEmail)
            guard let contact, let conversation = try await GuestConversation.latest(services.chatwoot, account: account, contact: contact)
            else {
                logger.info(
                    "the guest has no Chatwoot conversation; nothing to triage",
                    metadata: ["guesty.reservation": "\(booking.reservationID)"])
                return .done
            }
            // The reservation reached this conversation: its phone and email are the guest's.
            let identities = ReservationIndex.contacts(phone: booking.guestPhone, email: booking.guestEmail).map { key in
                VerifiedGuest(key: key, source: "reservation \(booking.reservationID) (Guesty)")
            }
            try await VerifiedGuest.record(
                identities, pool: context.redis, keys: services.keys, account: account, conversation: conversation)
            try await KnownContacts.record(
                pool: context.redis, keys: services.keys, account: account, contact: contact, identities: identities.map(\.key),
                conversation: conversation)
            try await Triage.apply(services, account: account, conversation: conversation, decision)
            return .done
        }
    }

    /// The reservation in one sentence per fact, the text its point is found by.
    static func summary(_ booking: BookingChange) -> String {
        var lines = ["Reservation \(booking.reservationID)" + (booking.confirmationCode.map { " (confirmation \($0))" } ?? "")]
        if let guest = booking.guestName { lines.append("Guest: \(guest)") }
        if let listing = booking.listingTitle ?? booking.listingID { lines.append("Listing: \(listing)") }
        if let checkIn = booking.checkIn { lines.append("Check-in: \(StayPhase.day(checkIn) ?? checkIn)") }
        if let checkOut = booking.checkOut { lines.append("Check-out: \(StayPhase.day(checkOut) ?? checkOut)") }
        if let status = booking.status { lines.append("Status: \(status)") }
        if let channel = booking.source { lines.append("Booked through: \(channel)") }
        return lines.joined(separator: "\n")
    }
}
