import Foundation
import Jobs
import Queue
import Testing

/// The booking flow's payload is written by hand at ingress (`WritesOwnJSON`); it must be what
/// Foundation's encoder makes of it, for any text a webhook can carry.
@Suite struct FlowPayloadJSONTests {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    @Test func aBookingChangeIsWrittenAsTheEncoderWritesIt() throws {
        var change = BookingChange(event: "reservation.new", reservationID: "r-1")
        change.checkIn = "2026-12-01T15:00:00.000Z"
        change.guestName = "Ada Lovelace"
        change.listingTitle = "Sea view / loft"
        let encoded = String(decoding: try Self.encoder.encode(change), as: UTF8.self)
        #expect(change.jsonText == encoded)
        let minimal = BookingChange(event: "reservation.updated.v2", reservationID: "r-2")
        #expect(minimal.jsonText == String(decoding: try Self.encoder.encode(minimal), as: UTF8.self))
    }

    @Test func anyTextComesBackAsItWent() throws {
        let hostile = [
            "quote \" and backslash \\ and slash /", "line\nbreak\ttab\r", "bell \u{07} nul \u{00} escape \u{1B} \u{08}\u{0C}",
            "émoji 🏖️ and 日本語", "", "\u{2028}\u{2029}",
        ]
        for text in hostile {
            var change = BookingChange(event: text, reservationID: text)
            change.guestName = text
            change.guestPhone = text
            let decoded = try JSONDecoder().decode(BookingChange.self, from: Data(change.jsonText.utf8))
            #expect(decoded == change)
        }
    }
}
