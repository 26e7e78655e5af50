import Foundation
import Services
import Testing

@testable import Jobs

/// The small rules under the call and booking flows: how transcripts are cut, how a stay's phase
/// is decided, how teams and phone numbers are read.
@Suite struct KnowledgeRulesTests {
    @Test func transcriptsAreCutBetweenWordsWithOverlapAndNothingLost() throws {
        let words = (1...500).map { "w\($0)" }
        let chunks = TextChunks.split(words.joined(separator: "  \n"), size: 200, overlap: 40)
        #expect(chunks.count > 1)
        #expect(chunks.allSatisfy { $0.count <= 200 })
        for (previous, next) in zip(chunks, chunks.dropFirst()) {
            // The next piece starts with the previous one's last words (up to 40 characters of them).
            let first = try #require(next.split(separator: " ").first)
            let carried = try #require(previous.range(of: " " + first + " ", options: .backwards)).upperBound
            let tail = String(first) + " " + previous[carried...]
            #expect(tail.count <= 40 && next.hasPrefix(tail), "each piece starts with the end of the one before")
        }
        var seen: Set<Substring> = []
        for chunk in chunks { seen.formUnion(chunk.split(separator: " ")) }
        #expect(seen.count == words.count)
        #expect(TextChunks.split("  \n ").isEmpty)
        #expect(
            TextChunks.split(String(repeating: "x", count: 50), size: 10) == [String(repeating: "x", count: 50)], "a long word stays whole")
    }

    @Test(
        arguments: [
            ("confirmed", "2026-12-01T15:00:00Z", "2026-12-05", "2026-11-26", StayPhase.Decision.label(.preStay)),
            ("confirmed", "2026-11-20", "2026-11-26T10:00:00Z", "2026-11-26", .label(.duringStay)),
            ("checked_in", "2026-11-26", "2026-11-30", "2026-11-26", .label(.duringStay)),
            ("confirmed", "2026-11-20", "2026-11-25", "2026-11-26", .label(.postStay)),
            ("inquiry", "2026-12-01", "2026-12-05", "2026-11-26", .label(.inquiry)),
            ("awaiting_payment", nil, nil, "2026-11-26", .label(.inquiry)),
            ("canceled", "2026-12-01", "2026-12-05", "2026-11-26", .clear),
            ("confirmed", nil, "2026-12-05", "2026-11-26", .unknown),
            (nil, "12/01/2026", "2026-12-05", "2026-11-26", .unknown),
        ] as [(String?, String?, String?, String, StayPhase.Decision)])
    func aStaysPhaseComesFromItsStatusAndDates(
        _ status: String?, _ checkIn: String?, _ checkOut: String?, _ today: String, _ expected: StayPhase.Decision
    ) {
        #expect(StayPhase.decide(status: status, checkIn: checkIn, checkOut: checkOut, today: today) == expected)
    }

    @Test func teamsAreReadPerPhaseAndAMistakeIsNamed() throws {
        #expect(try FlowConfiguration.teams(" pre-stay=3, During-Stay = 4 ,") == [.preStay: 3, .duringStay: 4])
        #expect(try FlowConfiguration.teams("") == [:])
        #expect(throws: ConfigurationError.self) { try FlowConfiguration.teams("checkout=3") }
        #expect(throws: ConfigurationError.self) { try FlowConfiguration.teams("inquiry=x") }
    }

    @Test func phoneNumbersCompareByTheirDigits() {
        #expect(GuestConversation.digits("+33 6 12-34-56.78") == "33612345678")
        #expect(GuestConversation.digits("(555) 0100") == "5550100")
        #expect(GuestConversation.digits("12") == nil)
    }
}
