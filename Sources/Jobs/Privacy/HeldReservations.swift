import Foundation
import Queue
import Redis

/// A person's reservations as triage keeps them in Redis (`ReservationIndex`), found by phone
/// digits, email or reservation id — every stay of theirs, not only the latest the index points
/// at — read a page at a time.
struct HeldReservations {
    let pool: RedisPool
    let keys: Keys

    /// Every reservation of the person, with the keys each carries (its phone and email: the same guest).
    func matching(_ subject: DataSubject) async throws -> [BookingChange] {
        var found: [BookingChange] = []
        let decoder = JSONDecoder()
        try await pool.scan("HSCAN", key: keys.reservations, count: 500) { page in
            for pair in page.pairs {
                guard let text = pair.value.string, let reservation = try? decoder.decode(BookingChange.self, from: Data(text.utf8)) else {
                    continue
                }
                let mine =
                    subject.reservations.contains(reservation.reservationID)
                    || reservation.guestPhone.map(subject.hasPhone) == true || reservation.guestEmail.map(subject.hasEmail) == true
                if mine { found.append(reservation) }
            }
        }
        return found
    }

    func sweep(_ subject: DataSubject, forget: Bool) async throws -> PlaceReport {
        var report = PlaceReport("reservations")
        let found = try await matching(subject)
        for reservation in found {
            let stay = [reservation.checkIn, reservation.checkOut].compactMap { $0?.prefix(10) }.joined(separator: " to ")
            report.add(
                "reservation \(reservation.reservationID)" + (stay.isEmpty ? "" : ", \(stay)")
                    + (reservation.listingTitle.map { " at \($0)" } ?? ""))
        }
        guard forget, !found.isEmpty else { return report }
        let ids = found.map(\.reservationID)
        var commands = [RedisCommand("HDEL", [keys.reservations] + ids), RedisCommand("ZREM", [keys.reservationEnds] + ids)]
        for reservation in found {
            for contact in ReservationIndex.contacts(phone: reservation.guestPhone, email: reservation.guestEmail) {
                commands.append(
                    RedisCommand(
                        "EVAL", [ReservationIndex.deleteIfEqual, "1", keys.reservationsByContact, contact, reservation.reservationID]))
            }
        }
        let replies = try await pool.pipeline(commands)
        report.removed = replies.first?.integer ?? 0
        return report
    }
}
