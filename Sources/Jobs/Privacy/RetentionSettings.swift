import Foundation
import Services

/// How long each kind of personal data is kept, as the operator sets it (each a number of days
/// `Nd`, or hours `Nh`; from one hour to ten years):
/// - `RETENTION_CALLS` (default 90d): call transcripts in the knowledge and call recordings;
/// - `RETENTION_BOOKINGS` (default 60d): a booking's facts, in the knowledge and triage's index,
///   counted from the stay's check-out;
/// - `RETENTION_VOICE` (default 30d): guests' voice messages and the spoken answers;
/// - `RETENTION_HISTORY` (default 1d): the queues' history of settled attempts;
/// - `RETENTION_DEAD` (default 30d): dead letters' payloads — the letters stay (ids, kinds, errors,
///   times) for their operational value, `switchboard dead drop` removes them.
/// And `PRIVACY_FORGET_DELETED_CONTACTS=1`: each day, contacts Chatwoot has deleted are forgotten.
public struct RetentionSettings: Sendable, Equatable, Codable {
    public var calls: Duration
    public var bookings: Duration
    public var voice: Duration
    public var history: Duration
    public var dead: Duration
    public var forgetDeletedContacts: Bool

    public static let defaults = RetentionSettings(
        calls: .seconds(90 * 86_400), bookings: .seconds(60 * 86_400), voice: .seconds(30 * 86_400), history: .seconds(86_400),
        dead: .seconds(30 * 86_400), forgetDeletedContacts: false)

    /// Every setting's name, in the order `privacy retention` shows them.
    public static let names = ["RETENTION_CALLS", "RETENTION_BOOKINGS", "RETENTION_VOICE", "RETENTION_HISTORY", "RETENTION_DEAD"]

    public init(calls: Duration, bookings: Duration, voice: Duration, history: Duration, dead: Duration, forgetDeletedContacts: Bool) {
        self.calls = calls
        self.bookings = bookings
        self.voice = voice
        self.history = history
        self.dead = dead
        self.forgetDeletedContacts = forgetDeletedContacts
    }

    /// The settings `setting` gives, each checked; a malformed one is named.
    public static func from(_ setting: (String) throws -> String?) throws -> RetentionSettings {
        var settings = defaults
        for (name, path) in [
            ("RETENTION_CALLS", \RetentionSettings.calls), ("RETENTION_BOOKINGS", \.bookings), ("RETENTION_VOICE", \.voice),
            ("RETENTION_HISTORY", \.history), ("RETENTION_DEAD", \.dead),
        ] {
            guard let text = try setting(name) else { continue }
            guard let value = duration(text) else {
                throw ConfigurationError("\(name) '\(text.prefix(40))' is not a number of days or hours from 1h to 3650d, e.g. 90d")
            }
            settings[keyPath: path] = value
        }
        if let text = try setting("PRIVACY_FORGET_DELETED_CONTACTS") {
            guard ["0", "1"].contains(text) else {
                throw ConfigurationError("PRIVACY_FORGET_DELETED_CONTACTS '\(text.prefix(40))' is neither 1 nor 0")
            }
            settings.forgetDeletedContacts = text == "1"
        }
        return settings
    }

    /// `90d` or `12h`, from one hour to ten years.
    static func duration(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let unit = trimmed.last, let count = Int(trimmed.dropLast()), count > 0 else { return nil }
        let seconds: Int
        switch unit {
        case "d": seconds = count <= 3_650 ? count * 86_400 : 0
        case "h": seconds = count <= 87_600 ? count * 3_600 : 0
        default: return nil
        }
        return seconds >= 3_600 ? .seconds(seconds) : nil
    }

    /// A duration as the settings write it (`90d`, `12h`).
    public static func text(_ duration: Duration) -> String {
        let seconds = Int(duration.components.seconds)
        return seconds % 86_400 == 0 ? "\(seconds / 86_400)d" : "\(seconds / 3_600)h"
    }

    /// The setting's value for `name`.
    public func value(_ name: String) -> Duration? {
        switch name {
        case "RETENTION_CALLS": calls
        case "RETENTION_BOOKINGS": bookings
        case "RETENTION_VOICE": voice
        case "RETENTION_HISTORY": history
        case "RETENTION_DEAD": dead
        default: nil
        }
    }
}
