import Foundation
import Queue
import Redis
import Services

/// What a guest's answer may draw on, decided here and enforced by the retrieval filter, never by
/// the prompt: the account's shared knowledge; of the knowledge of one listing, only the listing
/// of the guest's own stay; restricted knowledge (door codes, Wi-Fi passwords) only for a
/// confirmed stay at that listing, from `accessDays` before check-in to check-out. Never what is
/// known privately about guests (calls, bookings), never a version still being indexed.
///
/// The guest's stay is found only by identities something other than the guest vouched for
/// (`VerifiedGuest`: the channel's number, a call or a reservation that reached the conversation),
/// never by an email or phone a guest typed into a widget — that would hand another guest's door
/// code to anyone who knows their address.
struct GuestKnowledge: Equatable {
    var stay: BookingChange?
    /// Whether restricted knowledge of the stay's listing is open to this guest today.
    var accessOpen: Bool

    /// Days before check-in restricted knowledge opens (`ASSISTANT_ACCESS_DAYS`).
    static let defaultAccessDays = 1

    static func find(_ services: FlowServices, redis: RedisPool, message: ChatMessage, today: String) async throws -> GuestKnowledge {
        let recorded = try await VerifiedGuest.recorded(
            pool: redis, keys: services.keys, account: message.accountID, conversation: message.conversationID)
        let identities = (message.verifiedGuest ?? []).map(\.key) + recorded.map(\.key)
        let stay = try await ReservationIndex(pool: redis, keys: services.keys).find(contacts: identities)
        return GuestKnowledge(stay: stay, today: today, accessDays: services.accessDays)
    }

    init(stay: BookingChange?, today: String, accessDays: Int) {
        self.stay = stay
        accessOpen = Self.opens(stay, today: today, accessDays: accessDays)
    }

    static func opens(_ stay: BookingChange?, today: String, accessDays: Int) -> Bool {
        guard let stay, stay.status?.lowercased() == "confirmed", stay.listingID != nil,
            let checkIn = StayPhase.day(stay.checkIn), let checkOut = StayPhase.day(stay.checkOut),
            let opens = StayPhase.day(checkIn, plus: -accessDays)
        else { return false }
        return opens <= today && today <= checkOut
    }

    /// The filter a guest's retrieval runs under.
    func filter(account: Int) -> QdrantFilter {
        let listing: QdrantFilter.Condition =
            if let id = stay?.listingID {
                .nested(QdrantFilter(should: [.isEmpty("listing_id"), .equals("listing_id", .string(id))]))
            } else {
                .isEmpty("listing_id")
            }
        var mustNot: [QdrantFilter.Condition] = [.equals("private", .bool(true)), .equals("staging", .bool(true))]
        if !accessOpen { mustNot.append(.equals("restricted", .bool(true))) }
        return QdrantFilter(must: [.equals("account_id", .integer(account)), listing], mustNot: mustNot)
    }

    /// The guest's own booking as the model is told it, or nil for a guest with none.
    var bookingFacts: String? {
        guard let stay else { return nil }
        var facts: [String] = []
        if let title = stay.listingTitle ?? stay.listingID { facts.append("listing: \(title)") }
        if let checkIn = stay.checkIn { facts.append("check-in: \(checkIn)") }
        if let checkOut = stay.checkOut { facts.append("check-out: \(checkOut)") }
        if let status = stay.status { facts.append("status: \(status)") }
        if let name = stay.guestName { facts.append("guest: \(name)") }
        if let code = stay.confirmationCode { facts.append("confirmation code: \(code)") }
        return facts.isEmpty ? nil : facts.joined(separator: "; ")
    }
}
