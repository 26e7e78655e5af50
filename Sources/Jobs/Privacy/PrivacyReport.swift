import Foundation

/// What a `privacy find` or `forget` found and did, place by place: how many items each holds,
/// the first of them described just enough to recognise (a source id, a reservation id, a blob's
/// name, a job's kind — never a transcript or a message), what was removed, and — when a place
/// could not be read or changed — which, and what had been removed before it.
public struct PrivacyReport: Codable, Sendable, Equatable {
    /// Who it is about, masked (`phone …5678`).
    public var subject: String
    public var forgot: Bool
    public var dryRun: Bool
    public var places: [PlaceReport]
    /// The place that failed and why; the places before it are done.
    public var failed: String?
    /// Jobs of this person still running when the forget stopped waiting for them.
    public var stillRunning: Int
    /// Contacts Chatwoot still has for this person (delete them there too: it keeps its own copy).
    public var chatwootContacts: [Int]
    /// Unix milliseconds.
    public var finishedAt: UInt64

    public init(subject: String, forgot: Bool, dryRun: Bool) {
        self.subject = subject
        self.forgot = forgot
        self.dryRun = dryRun
        places = []
        failed = nil
        stillRunning = 0
        chatwootContacts = []
        finishedAt = 0
    }

    enum CodingKeys: String, CodingKey {
        case subject, forgot, places, failed
        case dryRun = "dry_run"
        case stillRunning = "still_running"
        case chatwootContacts = "chatwoot_contacts"
        case finishedAt = "finished_at"
    }

    public var held: Int { places.reduce(0) { $0 + $1.held } }
    public var removed: Int { places.reduce(0) { $0 + $1.removed } }
    /// Whether the run did all it was asked: nothing failed and no job was left running.
    public var complete: Bool { failed == nil && stillRunning == 0 }
}

/// One place's share of a report.
public struct PlaceReport: Codable, Sendable, Equatable {
    public var place: String
    public var held: Int
    public var items: [HeldItem]
    public var removed: Int
    public var notes: [String]

    /// How many items a report lists per place (the count is always whole).
    public static let shown = 50

    public init(_ place: String) {
        self.place = place
        held = 0
        items = []
        removed = 0
        notes = []
    }

    mutating func add(_ what: String, at: Date? = nil) {
        held += 1
        if items.count < Self.shown { items.append(HeldItem(what: what, at: at.map(HeldItem.day))) }
    }
}

/// One thing held, as a report describes it.
public struct HeldItem: Codable, Sendable, Equatable {
    public var what: String
    /// `yyyy-MM-dd` (UTC), when known.
    public var at: String?

    static func day(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }
}

/// A place that could not be read or changed: which, and the error.
struct PlaceFailure: Error, CustomStringConvertible {
    var place: String
    var error: any Error
    var description: String { "\(place): \(error)" }
}
