import Foundation
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// Every new conversation triaged by the stay phase of its contact's kept reservation, or as an
/// inquiry — quietly when run again (issue 15).
@Suite struct ConversationTriageTests {
    typealias World = BookingFlowTests.World

    static func triage(_ world: World, conversation: Int, phone: String? = nil, email: String?) async throws {
        let (request, _) = try NewConversation(accountID: 1, conversationID: conversation, phone: phone, email: email).request()
        try await world.broker.add(request.envelope(), to: request.queue)
        try await world.runUntilIdle()
    }

    static func writes(_ world: World) -> Int {
        world.chatwoot.requests.filter { $0.method == "POST" && ($0.path.hasSuffix("/labels") || $0.path.hasSuffix("/assignments")) }.count
    }

    @Test func aNewConversationOfAGuestWithAStayNextWeekIsPreStayWithItsTeamAndASecondRunWritesNothing() async throws {
        let world = try await World()
        // The booking flow keeps the reservation (its triage also labels the guest's latest conversation, 51).
        try await world.deliver(world.booking(status: "confirmed"))
        world.chatwoot.conversations.withLock { $0[52] = .init(id: 52, contact: 7, labels: ["vip"]) }
        // Found by email (any case), without asking Guesty.
        try await Self.triage(world, conversation: 52, email: "ADA@example.com")
        #expect(world.chatwoot.conversations.value[52]?.labels == ["vip", "pre-stay"], "the agents' label kept")
        #expect(world.chatwoot.conversations.value[52]?.team == 3)
        let before = Self.writes(world)
        try await Self.triage(world, conversation: 52, email: "ada@example.com")
        #expect(Self.writes(world) == before, "nothing would change: no label or assignment request")
    }

    @Test func aStrangerIsAnInquiry() async throws {
        let world = try await World()
        world.chatwoot.conversations.withLock { $0[53] = .init(id: 53, contact: 8, labels: ["vip"]) }
        try await Self.triage(world, conversation: 53, phone: "+44 20 7946 0000", email: "someone@example.org")
        #expect(world.chatwoot.conversations.value[53]?.labels == ["vip", "inquiry"])
        #expect(world.chatwoot.conversations.value[53]?.team == nil, "no team configured for inquiries")
    }

    @Test func aGuestFoundByPhoneDigitsDuringTheirStay() async throws {
        let world = try await World()
        var change = world.booking(
            status: "confirmed", checkIn: "2020-01-10T15:00:00.000Z", checkOut: "2099-01-15T10:00:00.000Z", email: nil)
        change.guestPhone = "+33 6 12 34 56 78"
        try await world.deliver(change)
        world.chatwoot.conversations.withLock { $0[54] = .init(id: 54, contact: 9) }
        try await Self.triage(world, conversation: 54, phone: "+33612345678", email: nil)
        #expect(world.chatwoot.conversations.value[54]?.labels == ["during-stay"] && world.chatwoot.conversations.value[54]?.team == 4)
    }

    @Test func aLeanEventIsMergedIntoWhatWasKnownAndStaysLongOverAreDropped() async throws {
        let world = try await World()
        let index = ReservationIndex(pool: world.pool, keys: world.services.keys)
        try await index.record(world.booking(status: "confirmed"))
        var lean = BookingChange(event: "reservation.updated", reservationID: "R-100")
        lean.status = "checked_in"
        let merged = try await index.record(lean)
        #expect(merged.status == "checked_in" && merged.checkIn == "2099-01-10T15:00:00.000Z" && merged.guestEmail == "Ada@Example.com")
        var old = BookingChange(event: "reservation.updated", reservationID: "R-1")
        old.checkOut = "2026-01-01"
        old.guestEmail = "old@example.com"
        try await index.record(old)
        #expect(try await index.sweep(today: "2026-02-15") == 0, "45 days after check-out: kept")
        #expect(try await index.sweep(today: "2026-03-15") == 1)
        #expect(try await index.find(phone: nil, email: "old@example.com") == nil)
        #expect(try await index.find(phone: nil, email: "ada@example.com")?.reservationID == "R-100")
    }

    @Test func todayIsTheProperty() {
        var services = BookingFlowTests.World.servicesForZone()
        let instant = Date(timeIntervalSince1970: 1_795_960_000)  // 2026-11-29, 13:46 UTC
        #expect(services.today(instant) == "2026-11-29")
        services.timeZone = TimeZone(identifier: "Pacific/Auckland")!
        #expect(services.today(instant) == "2026-11-30")
    }
}

extension BookingFlowTests.World {
    static func servicesForZone() -> FlowServices {
        let http = HTTPClient(connections: 1)
        return FlowServices(
            embeddings: EmbeddingsClient(baseURL: "http://127.0.0.1:9", apiKey: nil, model: "m", http: http),
            qdrant: QdrantClient(baseURL: "http://127.0.0.1:9", apiKey: nil, collection: "k", http: http),
            completions: ChatCompletionsClient(baseURL: "http://127.0.0.1:9", apiKey: "k", model: "m", http: http),
            chatwoot: ChatwootClient(baseURL: "http://127.0.0.1:9", apiToken: "t", http: http), systemPrompt: "", keys: Keys())
    }
}

/// The daily job that moves conversations when their stay's phase changes (a test clock: the day
/// is given in the payload, as an operator's `schedules run` could not).
@Suite struct PhaseAdvanceTests {
    typealias World = BookingFlowTests.World

    static func advance(_ world: World, to day: String) async throws {
        let request = JobRequest(queue: PhaseAdvance.queue, kind: PhaseAdvance.kind, payload: #"{"day":"\#(day)"}"#, maxAttempts: 1)
        try await world.broker.add(request.envelope(), to: request.queue)
        try await world.runUntilIdle()
        #expect(try await world.pool.send("XLEN", world.broker.keys.dead(PhaseAdvance.queue)).integer == 0)
    }

    @Test func onTheCheckInDayAndTheDayAfterCheckOutEachOpenConversationMovesOnceEvenRunTwice() async throws {
        let world = try await World()
        try await world.deliver(world.booking(status: "confirmed"))
        // A second open conversation of the guest's, and a resolved one that stays as it is.
        world.chatwoot.conversations.withLock {
            $0[52] = .init(id: 52, contact: 7, labels: ["pre-stay", "late-arrival"])
            $0[53] = .init(id: 53, contact: 7, labels: ["pre-stay"], status: "resolved")
        }
        #expect(world.conversation?.labels == ["vip", "pre-stay"])
        try await Self.advance(world, to: "2099-01-09")
        #expect(
            ConversationTriageTests.writes(world) == 2, "the day before check-in: nothing moves (2 writes from the booking's own triage)")
        for _ in 0..<2 { try await Self.advance(world, to: "2099-01-10") }
        let conversations = world.chatwoot.conversations.value
        #expect(conversations[51]?.labels == ["vip", "during-stay"] && conversations[51]?.team == 4)
        #expect(conversations[52]?.labels == ["late-arrival", "during-stay"] && conversations[52]?.team == 4)
        #expect(conversations[53]?.labels == ["pre-stay"] && conversations[53]?.team == nil, "resolved: untouched")
        #expect(
            ConversationTriageTests.writes(world) == 2 + 4,
            "each open conversation changed once (labels and team), though the job ran twice")
        try await Self.advance(world, to: "2099-01-15")
        #expect(ConversationTriageTests.writes(world) == 6, "the check-out day is still during the stay")
        try await Self.advance(world, to: "2099-01-16")
        #expect(world.chatwoot.conversations.value[51]?.labels == ["vip", "post-stay"])
        #expect(world.chatwoot.conversations.value[52]?.labels == ["late-arrival", "post-stay"])
    }
}
