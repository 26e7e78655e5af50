import Foundation
import Queue
import Redis
import Services

/// The reservations triage looks a guest up in, by phone digits or email, without asking Guesty:
/// every reservation change the booking flow receives is kept here (its latest known facts, a lean
/// event merged into what was known), in Redis, so it survives restarts as the queues do. A stay
/// whose check-out is more than `RETENTION_BOOKINGS` past is dropped by `sweep` (the daily
/// `privacy.retention`).
struct ReservationIndex {
    let pool: RedisPool
    let keys: Keys

    /// Keeps `change`, merged over what was known of the reservation; returns the merged facts.
    @discardableResult
    func record(_ change: BookingChange) async throws -> BookingChange {
        var merged = try await reservation(change.reservationID) ?? BookingChange(event: change.event, reservationID: change.reservationID)
        merged.event = change.event
        for path in [
            \BookingChange.status, \.checkIn, \.checkOut, \.guestName, \.guestEmail, \.guestPhone, \.listingID, \.listingTitle,
            \.confirmationCode, \.source, \.publishedAt,
        ] {
            if let value = change[keyPath: path] { merged[keyPath: path] = value }
        }
        let text = String(decoding: try FlowPayloadCoding.encoder.encode(merged), as: UTF8.self)
        var commands = [RedisCommand("HSET", [keys.reservations, merged.reservationID, text])]
        for contact in Self.contacts(phone: merged.guestPhone, email: merged.guestEmail) {
            commands.append(RedisCommand("HSET", [keys.reservationsByContact, contact, merged.reservationID]))
        }
        if let end = StayPhase.day(merged.checkOut).map({ $0.replacingOccurrences(of: "-", with: "") }) {
            commands.append(RedisCommand("ZADD", [keys.reservationEnds, end, merged.reservationID]))
        }
        _ = try await pool.pipeline(commands)
        return merged
    }

    func reservation(_ id: String) async throws -> BookingChange? {
        guard let text = try await pool.send("HGET", keys.reservations, id).string else { return nil }
        return try? JSONDecoder().decode(BookingChange.self, from: Data(text.utf8))
    }

    /// The latest reservation of the guest with this phone number, else this email.
    func find(phone: String?, email: String?) async throws -> BookingChange? {
        try await find(contacts: Self.contacts(phone: phone, email: email))
    }

    /// The latest reservation of the first of these index keys (`phone:<digits>`, `email:<lowercased>`) that has one.
    func find(contacts: [String]) async throws -> BookingChange? {
        for contact in contacts {
            if let id = try await pool.send("HGET", keys.reservationsByContact, contact).string, let found = try await reservation(id) {
                return found
            }
        }
        return nil
    }

    /// Every reservation kept (for the daily phase change).
    func all() async throws -> [BookingChange] {
        let decoder = JSONDecoder()
        return try await pool.send("HGETALL", keys.reservations).pairs.compactMap { pair in
            pair.value.string.flatMap { try? decoder.decode(BookingChange.self, from: Data($0.utf8)) }
        }
    }

    /// Drops the reservations whose check-out day is more than `keepDays` before `today`
    /// (`yyyy-MM-dd`); returns how many.
    @discardableResult
    func sweep(today: String, keepDays: Int = 60) async throws -> Int {
        guard let bound = StayPhase.day(today, plus: -keepDays)?.replacingOccurrences(of: "-", with: "") else { return 0 }
        let old = try await pool.send("ZRANGEBYSCORE", keys.reservationEnds, "-inf", "(\(bound)").array?.compactMap(\.string) ?? []
        guard !old.isEmpty else { return 0 }
        var stale: [BookingChange] = []
        for id in old { if let found = try await reservation(id) { stale.append(found) } }
        var commands = [RedisCommand("HDEL", [keys.reservations] + old), RedisCommand("ZREM", [keys.reservationEnds] + old)]
        for reservation in stale {
            for contact in Self.contacts(phone: reservation.guestPhone, email: reservation.guestEmail) {
                // Only if the contact still points at this one (a later stay may have taken it).
                commands.append(
                    RedisCommand("EVAL", [Self.deleteIfEqual, "1", keys.reservationsByContact, contact, reservation.reservationID]))
            }
        }
        _ = try await pool.pipeline(commands)
        return old.count
    }

    static let deleteIfEqual =
        "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0"

    /// The index's keys for a guest: `phone:<digits>` and `email:<lowercased>`.
    static func contacts(phone: String?, email: String?) -> [String] {
        var found: [String] = []
        if let digits = phone.flatMap(GuestConversation.digits) { found.append("phone:\(digits)") }
        if let email = email?.trimmingCharacters(in: .whitespaces).lowercased(), email.contains("@") { found.append("email:\(email)") }
        return found
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// The reservations triage finds guests' stays in: reservation id → its last known facts (a hash).
    public var reservations: String { named("reservations") }
    /// A guest's phone digits or lowercased email → their latest reservation's id (a hash).
    public var reservationsByContact: String { named("reservations:contact") }
    /// Reservation id → its check-out day as `yyyyMMdd` (a sorted set), to drop stays long over.
    public var reservationEnds: String { named("reservations:ends") }
}
