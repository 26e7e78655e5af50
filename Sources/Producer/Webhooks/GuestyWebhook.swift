import Jobs

/// `POST /webhooks/guesty`: Guesty's reservation and listing events, signed with Svix (docs/contracts.md §3).
///
/// The signature is checked over the raw bytes before anything is parsed, under Svix's header names
/// or the Standard Webhooks ones a white-labelled Svix uses; the dedupe key is the message id
/// (`svix-id` or `webhook-id`), which stays the same on every resend. Legacy `reservation.new`/`reservation.updated`
/// and their `.v2` replacements start the booking flow; `listing.new`, `listing.updated` and
/// `listing.removed` the listing's knowledge (`GuestyListing`); other events are acknowledged and dropped.
/// The reservation is read from `reservation` (or `data.reservation`/`data` in the lean v2 shape,
/// whose exact layout is not pinned down in our sources), its id from `_id`, `id` or `reservationId`.
public struct GuestyWebhook: Sendable {
    let verifier: SvixVerifier

    public init(secret: String) throws {
        verifier = try SvixVerifier(secret: secret)
    }

    public static let startingEvents: Set<String> = [
        "reservation.new", "reservation.updated", "reservation_update_shortlist",
        "reservation.created.v2", "reservation.updated.v2",
    ]

    public func delivery(headers: SvixHeaders, body: [UInt8]) throws -> Delivery {
        try verifier.verify(headers, body: body)
        let event = try WebhookJSON.decode(Event.self, from: body)
        let name = try event.event.required("event")
        let dedupe = "guesty:\(headers.id ?? "")"
        if GuestyListing.events.contains(name) {
            let listing = try WebhookJSON.decode(ListingEvent.self, from: body)
            let listingID = try (listing.listing?.identifier ?? listing.listingId).required("listing._id")
            let facts =
                name == "listing.removed"
                ? ListingFacts(event: name, listingID: listingID, removed: true)
                : try listing.listing.required("listing").facts(event: name, listingID: listingID)
            return .start(try ListingKnowledge.request(facts, dedupe: dedupe), dedupe: dedupe)
        }
        guard Self.startingEvents.contains(name) else { return .ignore(reason: "event \(name) starts no work") }
        let (reservation, path) =
            if let top = event.reservation { (top, "reservation") } else if let nested = event.data?.reservation {
                (nested, "data.reservation")
            } else if let data = event.data, data.identifier != nil { (data.plain, "data") } else {
                throw MalformedBody.missing("reservation")
            }
        let reservationID = try reservation.identifier.required("\(path)._id")
        var change = BookingChange(event: name, reservationID: reservationID)
        change.status = reservation.status
        change.checkIn = reservation.checkIn
        change.checkOut = reservation.checkOut
        change.guestName =
            reservation.guest?.fullName
            ?? [reservation.guest?.firstName, reservation.guest?.lastName].compactMap { $0 }.joined(separator: " ").nonEmpty
        change.guestEmail = reservation.guest?.email
        change.guestPhone = reservation.guest?.phone
        change.listingID = reservation.listingId ?? reservation.listing?.id
        change.listingTitle = reservation.listing?.title ?? reservation.listing?.nickname
        change.confirmationCode = reservation.confirmationCode
        change.source = reservation.source
        change.publishedAt = event.publishedAt
        return .start(try Flows.booking.request(change, dedupe: dedupe), dedupe: dedupe)
    }

    /// A listing event: the listing, or for a removal perhaps only its id.
    struct ListingEvent: Decodable {
        var listing: GuestyListing?
        var listingId: String?
    }

    struct Event: Decodable {
        var event: String?
        var reservation: Reservation?
        var data: DataSection?
        var publishedAt: String?
    }

    struct DataSection: Decodable {
        var reservation: Reservation?
        var plain: Reservation
        var identifier: String? { plain.identifier }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            reservation = try container.decodeIfPresent(Reservation.self, forKey: .reservation)
            plain = try Reservation(from: decoder)
        }

        enum CodingKeys: String, CodingKey { case reservation }
    }

    struct Reservation: Decodable {
        var underscoreID: String?
        var id: String?
        var reservationId: String?
        var status: String?
        var checkIn: String?
        var checkOut: String?
        var confirmationCode: String?
        var source: String?
        var listingId: String?
        var guest: Guest?
        var listing: Listing?

        var identifier: String? { underscoreID ?? id ?? reservationId }

        enum CodingKeys: String, CodingKey {
            case underscoreID = "_id"
            case id, reservationId, status, checkIn, checkOut, confirmationCode, source, listingId, guest, listing
        }
    }

    struct Guest: Decodable {
        var fullName: String?
        var firstName: String?
        var lastName: String?
        var email: String?
        var phone: String?
    }

    struct Listing: Decodable {
        var id: String?
        var title: String?
        var nickname: String?

        enum CodingKeys: String, CodingKey {
            case id = "_id"
            case title, nickname
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
