import Jobs

/// Guesty's listing events (`listing.new`, `listing.updated`, `listing.removed`, on the same Svix
/// route as reservations): the listing's guest-facing facts become the knowledge of that listing.
///
/// Only `publicDescription` and the listing's own public fields are read; `privateDescription`,
/// owners' and internal notes are never decoded, so they cannot reach a guest. A field of the
/// wrong type is left out rather than failing the delivery, and each text is cut at
/// `textLimit` characters, so a listing whose description is a megabyte is indexed, bounded.
struct GuestyListing: Decodable {
    static let events: Set<String> = ["listing.new", "listing.updated", "listing.removed"]
    static let textLimit = 20_000

    var identifier: String?
    var title: String?
    var nickname: String?
    var address: String?
    var checkInTime: String?
    var checkOutTime: String?
    var accommodates: Double?
    var bedrooms: Double?
    var bathrooms: Double?
    var description: PublicDescription?
    var amenities: [String]?

    struct PublicDescription: Decodable {
        var summary: String?
        var space: String?
        var access: String?
        var neighborhood: String?
        var transit: String?
        var notes: String?
        var houseRules: String?
    }

    struct Address: Decodable { var full: String? }

    enum CodingKeys: String, CodingKey {
        case underscoreID = "_id"
        case id, title, nickname, address, defaultCheckInTime, defaultCheckOutTime, accommodates, bedrooms, bathrooms, amenities
        case publicDescription
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        identifier =
            (try? container.decodeIfPresent(String.self, forKey: .underscoreID))
            ?? (try? container.decodeIfPresent(String.self, forKey: .id))
        title = try? container.decodeIfPresent(String.self, forKey: .title)
        nickname = try? container.decodeIfPresent(String.self, forKey: .nickname)
        address = (try? container.decodeIfPresent(Address.self, forKey: .address))?.full
        checkInTime = try? container.decodeIfPresent(String.self, forKey: .defaultCheckInTime)
        checkOutTime = try? container.decodeIfPresent(String.self, forKey: .defaultCheckOutTime)
        accommodates = try? container.decodeIfPresent(Double.self, forKey: .accommodates)
        bedrooms = try? container.decodeIfPresent(Double.self, forKey: .bedrooms)
        bathrooms = try? container.decodeIfPresent(Double.self, forKey: .bathrooms)
        description = try? container.decodeIfPresent(PublicDescription.self, forKey: .publicDescription)
        amenities = try? container.decodeIfPresent([String].self, forKey: .amenities)
    }

    /// The facts the knowledge job indexes, every text bounded.
    func facts(event: String, listingID: String) -> ListingFacts {
        func bounded(_ text: String?) -> String? {
            guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
            return text.count > Self.textLimit ? String(text.prefix(Self.textLimit)) + " …" : text
        }
        func count(_ value: Double?) -> Double? { value.flatMap { $0.isFinite && $0 >= 0 && $0 <= 10_000 ? $0 : nil } }
        var facts = ListingFacts(event: event, listingID: listingID)
        facts.title = bounded(title ?? nickname)
        facts.address = bounded(address)
        facts.checkInTime = bounded(checkInTime)
        facts.checkOutTime = bounded(checkOutTime)
        facts.capacity = count(accommodates).map { Int($0) }
        facts.bedrooms = count(bedrooms)
        facts.bathrooms = count(bathrooms)
        facts.summary = bounded(description?.summary)
        facts.space = bounded(description?.space)
        facts.access = bounded(description?.access)
        facts.neighborhood = bounded(description?.neighborhood)
        facts.transit = bounded(description?.transit)
        facts.notes = bounded(description?.notes)
        facts.houseRules = bounded(description?.houseRules)
        facts.amenities = amenities.map { Array($0.prefix(500).compactMap { bounded($0) }) }
        return facts
    }
}
