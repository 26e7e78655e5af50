import Foundation
import Services

/// Where a guest is in their stay, as a Chatwoot label: before arrival, in the house, after
/// departure, or still asking. Chatwoot stores label titles in lower case, so these are the titles.
public enum StayPhase: String, Sendable, CaseIterable, Hashable {
    case preStay = "pre-stay"
    case duringStay = "during-stay"
    case postStay = "post-stay"
    case inquiry

    /// What triage does for a reservation on `today` (`yyyy-MM-dd`, UTC).
    public enum Decision: Sendable, Equatable {
        /// Label the conversation with this phase (and no other phase).
        case label(StayPhase)
        /// The reservation fell through (canceled, declined, expired): take the phase labels off.
        case clear
        /// Not enough to tell (a lean event without dates): leave the conversation as it is.
        case unknown
    }

    /// Inquiries and unconfirmed holds are `inquiry`; a confirmed stay is placed by its dates
    /// (the check-out day still counts as during the stay); a reservation that fell through clears.
    public static func decide(status: String?, checkIn: String?, checkOut: String?, today: String) -> Decision {
        let status = status?.lowercased() ?? ""
        if ["canceled", "cancelled", "declined", "expired"].contains(status) { return .clear }
        if ["inquiry", "reserved", "awaiting_payment", "pending"].contains(status) { return .label(.inquiry) }
        guard let arrival = day(checkIn), let departure = day(checkOut) else { return .unknown }
        if today < arrival { return .label(.preStay) }
        if today <= departure { return .label(.duringStay) }
        return .label(.postStay)
    }

    /// `day` (`yyyy-MM-dd`) moved by `days` (UTC calendar arithmetic), or nil for no such day.
    static func day(_ day: String, plus days: Int) -> String? {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, let date = UTCTime.calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
            let moved = UTCTime.calendar.date(byAdding: .day, value: days, to: date)
        else { return nil }
        return UTCTime.day(moved)
    }

    /// The `yyyy-MM-dd` day of an ISO 8601 date or date-time, or nil.
    static func day(_ text: String?) -> String? {
        guard let text, text.count >= 10 else { return nil }
        let day = String(text.prefix(10))
        let shape = day.enumerated().allSatisfy { index, character in
            index == 4 || index == 7 ? character == "-" : character.isASCII && character.isNumber
        }
        return shape ? day : nil
    }
}
