import Foundation
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// The booking flow end to end against fakes of embeddings, Qdrant and Chatwoot with a real Redis
/// and the real consumer: a reservation change becomes one private knowledge point and the guest's
/// conversation gets the stay's phase label and team, the agents' own labels untouched.
@Suite struct BookingFlowTests {
    final class World: Sendable {
        let server: RedisServer
        let pool: RedisPool
        let broker: Broker
        let qdrant: FakeQdrant
        let chatwoot: FakeChatwoot
        let services: FlowServices

        init(prefix: String = #function) async throws {
            server = try await RedisServer()
            pool = RedisPool(endpoint: server.endpoint, size: 2)
            let keys = Keys(prefix: prefix.filter { $0.isLetter || $0.isNumber })
            broker = Broker(pool: pool, keys: keys)
            let embeddings = try await FakeService.embeddings(vector: [0, 1, 1])
            let qdrantService: FakeService
            (qdrant, qdrantService) = try await FakeQdrant.create(apiKey: "qd")
            chatwoot = try await FakeChatwoot(
                token: "cw", contacts: [.init(id: 7, name: "Ada Lovelace", email: "ada@example.com")],
                conversations: [.init(id: 51, contact: 7, lastActivityAt: 1_700_000_000, labels: ["vip", "inquiry"])])
            let http = HTTPClient()
            services = FlowServices(
                embeddings: EmbeddingsClient(baseURL: embeddings.url, apiKey: nil, model: "m", http: http),
                qdrant: QdrantClient(baseURL: qdrantService.url, apiKey: "qd", collection: "knowledge", http: http),
                completions: ChatCompletionsClient(baseURL: "http://127.0.0.1:9", apiKey: "k", model: "m", http: http),
                chatwoot: ChatwootClient(baseURL: chatwoot.url, apiToken: "cw", http: http),
                systemPrompt: "unused", keys: keys, http: http, account: 1, teams: [.preStay: 3, .duringStay: 4])
        }

        deinit { pool.close() }

        func booking(
            status: String, checkIn: String = "2099-01-10T15:00:00.000Z", checkOut: String = "2099-01-15T10:00:00.000Z",
            email: String? = "Ada@Example.com"
        ) -> BookingChange {
            var change = BookingChange(event: "reservation.updated", reservationID: "R-100")
            change.status = status
            change.checkIn = checkIn
            change.checkOut = checkOut
            change.guestName = "Ada Lovelace"
            change.guestEmail = email
            change.listingTitle = "Sea View Loft"
            change.confirmationCode = "GY-1"
            return change
        }

        func deliver(_ change: BookingChange) async throws {
            try await broker.add(try Flows.booking.request(change, dedupe: nil).envelope(), to: Flows.booking.queue)
            try await runUntilIdle()
        }

        func runUntilIdle() async throws {
            try await FlowRun.untilIdle(["vectorize", "triage"], services: services, broker: broker, pool: pool)
        }

        var conversation: FakeChatwoot.Conversation? { chatwoot.conversations.value[51] }
        var points: [String: (vector: [Float], payload: String)] { qdrant.state.value["knowledge"]?.points ?? [:] }
    }

    @Test func aConfirmedFutureStayIsIndexedLabelledPreStayAndAssignedItsTeam() async throws {
        let world = try await World()
        try await world.deliver(world.booking(status: "confirmed"))
        #expect(world.conversation?.labels == ["vip", "pre-stay"], "the phase replaces the old phase; the agents' label stays")
        #expect(world.conversation?.team == 3)
        #expect(world.points.count == 1)
        let payload = jsonFields(Array(try #require(world.points.values.first).payload.utf8))
        #expect(
            payload["reservation_id"] as? String == "R-100" && payload["private"] as? Bool == true && payload["account_id"] as? Int == 1)
        #expect((payload["text"] as? String)?.contains("Check-in: 2099-01-10") == true)
        let label = try #require(world.chatwoot.requests.last { $0.path.hasSuffix("/labels") && $0.method == "POST" })
        #expect(jsonFields(label.body)["labels"] as? [String] == ["vip", "pre-stay"], "labels are read, merged and written whole")
        // The reservation reached conversation 51: its email is the guest's, for an agent's note there.
        let verified = try await world.pool.send("HGETALL", world.broker.keys.verifiedGuest(account: 1, conversation: 51)).pairs
        #expect(verified.map(\.key) == ["email:ada@example.com"] && verified.first?.value.string == "reservation R-100 (Guesty)")
    }

    @Test func aCancellationClearsThePhaseAndOverwritesTheSamePoint() async throws {
        let world = try await World()
        try await world.deliver(world.booking(status: "confirmed"))
        let point = Set(world.points.keys)
        try await world.deliver(world.booking(status: "canceled"))
        #expect(world.conversation?.labels == ["vip"])
        #expect(Set(world.points.keys) == point, "one point per reservation, overwritten by each change")
        #expect(jsonFields(Array(try #require(world.points.values.first).payload.utf8))["status"] as? String == "canceled")
    }

    @Test func aStayUnderwayGoesToItsTeamAndAGuestWithoutAConversationIsLeftAlone() async throws {
        let world = try await World()
        try await world.deliver(world.booking(status: "confirmed", checkIn: "2000-01-01", checkOut: "2099-01-01"))
        #expect(world.conversation?.labels == ["vip", "during-stay"] && world.conversation?.team == 4)
        let before = world.chatwoot.requests.count
        try await world.deliver(world.booking(status: "confirmed", email: "stranger@example.com"))
        #expect(world.chatwoot.requests.count == before + 1, "one search, nothing written")
        #expect(world.conversation?.labels == ["vip", "during-stay"])
    }
}
