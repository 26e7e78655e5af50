import Foundation
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// The property's knowledge in and a guest's answer out, against Qdrant's own filter semantics
/// (qdrant-client's local mode behind the REST paths): documents indexed by the real consumer, two
/// guests with stays at two listings, a stranger and an inquiry, each asking for the door code.
@Suite(.enabled(if: LocalQdrant.available)) struct GuestKnowledgeTests {
    final class World: Sendable {
        let server: RedisServer
        let pool: RedisPool
        let broker: Broker
        let qdrant: LocalQdrant
        let embeddings: FakeService
        let model: FakeService
        let chatwoot: FakeChatwoot
        let services: FlowServices
        let sources: KnowledgeSources

        init(prefix: String = #function) async throws {
            server = try await RedisServer()
            pool = RedisPool(endpoint: server.endpoint, size: 2)
            let keys = Keys(prefix: prefix.filter { $0.isLetter || $0.isNumber })
            broker = Broker(pool: pool, keys: keys)
            sources = KnowledgeSources(pool: pool, keys: keys)
            qdrant = try await LocalQdrant()
            // Every text the same vector, so retrieval returns whatever the filter admits; a batch
            // holding BROKEN is refused, as a service failing half-way through a source.
            embeddings = try await FakeService { received in
                let inputs = jsonFields(received.body)["input"] as? [String] ?? []
                if inputs.contains(where: { $0.contains("BROKEN") }) {
                    return FakeService.answer(.badRequest, #"{"error":{"message":"input rejected"}}"#)
                }
                let items = inputs.indices.map { #"{"object":"embedding","index":\#($0),"embedding":[1.0,0.0,0.0]}"# }
                return FakeService.answer(.ok, #"{"object":"list","data":[\#(items.joined(separator: ","))],"model":"m"}"#)
            }
            model = try await FakeService.chatModel(answer: "Here you are.")
            chatwoot = try await FakeChatwoot(
                token: "cw", conversations: [21, 22, 23, 24].map { FakeChatwoot.Conversation(id: $0, contact: $0) })
            let http = HTTPClient()
            var services = FlowServices(
                embeddings: EmbeddingsClient(baseURL: embeddings.url + "/v1", apiKey: "sk", model: "m", http: http),
                qdrant: QdrantClient(baseURL: qdrant.url, apiKey: qdrant.apiKey, collection: "knowledge", http: http),
                completions: ChatCompletionsClient(baseURL: model.url + "/openai/v1", apiKey: "gsk", model: "qwen/qwen3-32b", http: http),
                chatwoot: ChatwootClient(baseURL: chatwoot.url, apiToken: "cw", http: http),
                systemPrompt: "You are the front desk.", contextLimit: 20, keys: keys, account: 1)
            services.accessDays = 1
            self.services = services
        }

        /// Asks for `text` to be indexed as source `id` and runs the knowledge queue until idle.
        @discardableResult
        func index(_ id: String, _ text: String, listing: String? = nil, restricted: Bool = false) async throws -> KnowledgeSource {
            let source = KnowledgeSource(
                id: id, origin: "\(id).md", format: .markdown, listing: listing, restricted: restricted,
                hash: KnowledgeSource.contentHash(text: text, listing: listing, restricted: restricted),
                version: UUID().uuidString.lowercased(), updated: "2026-12-06T00:00:00Z")
            try await sources.ask(source, text: text)
            try await broker.add(try KnowledgeIndexing.request(source).envelope(), to: KnowledgeIndexing.queue)
            try await FlowRun.untilIdle([KnowledgeIndexing.queue], services: services, broker: broker, pool: pool)
            return try #require(try await sources.source(id))
        }

        /// Every point of source `id` in Qdrant, by its payload.
        func points(_ id: String) async throws -> [[String: JSONValue]] {
            try await services.qdrant.points(QdrantFilter(must: [.equals("source_id", .string("doc:\(id)"))])).compactMap(\.payload)
        }

        /// A stay of `guest` at `listing`, from today, verified for `conversation` as triage records it.
        func stay(_ reservation: String, key: String, listing: String, status: String, conversation: Int) async throws {
            var change = BookingChange(event: "reservation.updated", reservationID: reservation)
            change.status = status
            change.listingID = listing
            change.listingTitle = "Flat \(listing)"
            change.checkIn = services.today() + "T15:00:00Z"
            change.checkOut = StayPhase.day(services.today(), plus: 3)! + "T11:00:00Z"
            change.confirmationCode = "CODE-\(reservation)"
            if key.hasPrefix("phone:") { change.guestPhone = "+" + key.dropFirst(6) } else { change.guestEmail = String(key.dropFirst(6)) }
            try await ReservationIndex(pool: pool, keys: services.keys).record(change)
            try await VerifiedGuest.record(
                [VerifiedGuest(key: key, source: "a reservation")], pool: pool, keys: services.keys, account: 1, conversation: conversation)
        }

        /// The system prompt the model received for each conversation's question, by conversation.
        func askEveryone() async throws -> [Int: String] {
            for conversation in [21, 22, 23, 24] {
                let message = ChatMessage(
                    accountID: 1, conversationID: conversation, inboxID: 1, messageID: 1000 + conversation,
                    content: "What is the door code? (conversation \(conversation))", senderID: conversation, senderName: "Guest")
                try await broker.add(
                    try Flows.chat.request(message, dedupe: "c\(conversation)").envelope(), to: Flows.chat.queue)
            }
            try await FlowRun.untilIdle(
                [Flows.chat.queue, ChatFlow.generateQueue, ChatFlow.replyQueue], services: services, broker: broker, pool: pool)
            var prompts: [Int: String] = [:]
            for request in model.requests {
                let messages = jsonFields(request.body)["messages"] as? [[String: Any]] ?? []
                let system = messages.first?["content"] as? String ?? ""
                let question = messages.last?["content"] as? String ?? ""
                if let conversation = [21, 22, 23, 24].first(where: { question.contains("conversation \($0)") }) {
                    prompts[conversation] = system
                }
            }
            return prompts
        }
    }

    static let flat1 = """
        # Flat L1

        Parking is in the courtyard of flat one.

        ## Door code [restricted]

        The door code of flat one is 1111.
        """
    static let flat2 = """
        # Flat L2

        The lift of flat two is behind the bakery.

        ## Door code [restricted]

        The door code of flat two is 2222.
        """

    @Test func eachGuestGetsTheirOwnListingAndStayAndNoOneElses() async throws {
        let w = try await World()
        try await w.index("house-rules", "# House rules\n\nCheck-in is from 15:00 in every flat.")
        try await w.index("flat-1", Self.flat1, listing: "L1")
        try await w.index("flat-2", Self.flat2, listing: "L2")
        try await w.index("wifi", "Wi-Fi password for every flat: sunset-42.", restricted: true)
        try await w.stay("R1", key: "phone:33611111111", listing: "L1", status: "confirmed", conversation: 21)
        try await w.stay("R2", key: "email:bob@example.com", listing: "L2", status: "confirmed", conversation: 22)
        try await w.stay("R4", key: "phone:33644444444", listing: "L1", status: "inquiry", conversation: 24)

        let prompts = try await w.askEveryone()
        #expect(prompts.count == 4, "every question reached the model")
        let ada = try #require(prompts[21])
        let bob = try #require(prompts[22])
        let stranger = try #require(prompts[23])
        let inquiry = try #require(prompts[24])
        for prompt in [ada, bob, stranger, inquiry] { #expect(prompt.contains("Check-in is from 15:00"), "shared knowledge for all") }

        #expect(ada.contains("1111") && ada.contains("courtyard") && ada.contains("sunset-42"))
        #expect(!ada.contains("2222") && !ada.contains("bakery"), "never the flat next door")
        #expect(ada.contains("This guest's booking") && ada.contains("CODE-R1") && ada.contains("Flat L1"))
        #expect(!ada.contains("CODE-R2") && !ada.contains("CODE-R4"))

        #expect(bob.contains("2222") && bob.contains("bakery") && bob.contains("sunset-42"))
        #expect(!bob.contains("1111") && !bob.contains("courtyard"))
        #expect(bob.contains("CODE-R2") && !bob.contains("CODE-R1"))

        for code in ["1111", "2222", "sunset-42", "courtyard", "bakery", "CODE-R"] {
            #expect(!stranger.contains(code), "a stranger: \(code)")
        }
        #expect(!stranger.contains("This guest's booking"))

        #expect(inquiry.contains("courtyard"), "an inquiry reads its listing's open knowledge")
        for code in ["1111", "2222", "sunset-42", "bakery"] { #expect(!inquiry.contains(code), "an inquiry: \(code)") }
        #expect(inquiry.contains("CODE-R4") && inquiry.contains("status: inquiry"))
        // Each answer tallied for the console, whatever became of it.
        let tally = try await AssistantMetrics.recentAnswers(pool: w.pool, keys: w.services.keys)
        #expect(tally.values.reduce(0, +) == 4 && tally.keys.allSatisfy { $0.hasPrefix("guest ") }, "\(tally)")
    }

    @Test func aPastOrCancelledStayOpensNothingRestricted() {
        let today = "2026-12-06"
        var stay = BookingChange(event: "reservation.updated", reservationID: "R")
        stay.listingID = "L1"
        stay.status = "confirmed"
        stay.checkIn = "2026-12-07T15:00:00Z"
        stay.checkOut = "2026-12-10"
        #expect(GuestKnowledge(stay: stay, today: today, accessDays: 1).accessOpen, "the day before check-in")
        #expect(!GuestKnowledge(stay: stay, today: today, accessDays: 0).accessOpen, "not yet, with no days before")
        #expect(!GuestKnowledge(stay: stay, today: "2026-12-11", accessDays: 1).accessOpen, "after check-out")
        stay.status = "canceled"
        #expect(!GuestKnowledge(stay: stay, today: "2026-12-08", accessDays: 1).accessOpen)
        stay.status = "confirmed"
        stay.checkOut = nil
        #expect(!GuestKnowledge(stay: stay, today: "2026-12-08", accessDays: 1).accessOpen, "no check-out: no access")
        #expect(!GuestKnowledge(stay: nil, today: today, accessDays: 1).accessOpen)
    }

    @Test func aNewVersionReplacesTheOldWholeAndAFailedOneLeavesItAsItWas() async throws {
        let w = try await World()
        let first = try await w.index("flat-1", Self.flat1, listing: "L1")
        #expect(first.state == .ready && first.livePieces == 2 && first.liveVersion == first.version)
        #expect(try await w.points("flat-1").count == 2)

        let changed = Self.flat1.replacingOccurrences(of: "1111", with: "7777") + "\n\n## Bins\n\nBins go out on Tuesday."
        let second = try await w.index("flat-1", changed, listing: "L1")
        #expect(second.state == .ready && second.livePieces == 3)
        let points = try await w.points("flat-1")
        #expect(points.count == 3, "none of the old version left over")
        #expect(points.allSatisfy { $0["version"] == .string(second.version) && $0["staging"] == .bool(false) })
        #expect(points.contains { $0["text"]?.string?.contains("7777") == true })

        // 70 sections: the first batch of 64 is embedded, the second fails for good.
        let long = (1...70).map { "## Room \($0)\n\nRoom \($0) has a view\($0 == 70 ? " BROKEN" : "")." }.joined(separator: "\n\n")
        try await w.index("flat-1", long, listing: "L1")
        // The dead letter's after-step marks the source failed once the letter is written.
        #expect(await eventually { (try? await w.sources.source("flat-1"))?.state == .failed })
        let failed = try #require(try await w.sources.source("flat-1"))
        #expect(failed.state == .failed && failed.error?.contains("input rejected") == true)
        #expect(failed.liveVersion == second.version && failed.livePieces == 3, "the live version is still the second")
        let after = try await w.points("flat-1")
        #expect(after.count == 3, "the failed version's written pieces are gone")
        #expect(after.allSatisfy { $0["version"] == .string(second.version) })
        #expect(try await w.sources.text(failed.version) == nil, "its text is not kept")

        // What a guest at L1 is answered from is still the second version.
        try await w.stay("R1", key: "phone:33611111111", listing: "L1", status: "confirmed", conversation: 21)
        let prompts = try await w.askEveryone()
        #expect(prompts[21]?.contains("7777") == true)
        #expect(prompts[21]?.contains("Room 1 has a view") == false)
    }

    @Test func aVersionSupersededWhileItWaitsIsDroppedNotShown() async throws {
        let w = try await World()
        let live = try await w.index("rules", "# Rules\n\nNo parties.")
        // Asked for, then replaced by another add before any consumer ran it.
        var stale = live
        stale.version = "stale-version"
        stale.hash = "h1"
        stale.state = .indexing
        try await w.sources.ask(stale, text: "# Rules\n\nParties allowed.")
        try await w.broker.add(try KnowledgeIndexing.request(stale).envelope(), to: KnowledgeIndexing.queue)
        let current = try await w.index("rules", "# Rules\n\nNo parties after 22:00.")
        #expect(current.state == .ready)
        let points = try await w.points("rules")
        #expect(points.count == 1 && points[0]["text"]?.string?.contains("after 22:00") == true)
        #expect(try await w.sources.text("stale-version") == nil)
    }

    /// The console's removal is a job: run late, after the same id was added again, it deletes
    /// only what the removed source showed.
    @Test func aRemovalRunLateSparesTheSourceAddedAgain() async throws {
        let w = try await World()
        let old = try await w.index("rules", "# Rules\n\nNo parties.")
        #expect(try await KnowledgeRemoval.remove("rules", pool: w.pool, keys: w.services.keys)?.liveVersion == old.liveVersion)
        #expect(try await w.sources.source("rules") == nil)
        // Added again before a consumer took the removal: the removal still waits behind it.
        let text = "# Rules\n\nNo parties after 22:00."
        let again = KnowledgeSource(
            id: "rules", origin: "rules.md", format: .markdown, listing: nil, restricted: false,
            hash: KnowledgeSource.contentHash(text: text, listing: nil, restricted: false), version: "second", updated: "t")
        try await w.sources.ask(again, text: text)
        try await w.broker.add(try KnowledgeIndexing.request(again).envelope(), to: KnowledgeIndexing.queue)
        try await FlowRun.untilIdle([KnowledgeIndexing.queue], services: w.services, broker: w.broker, pool: w.pool)
        let points = try await w.points("rules")
        #expect(points.count == 1 && points[0]["version"] == .string("second"), "\(points)")
        #expect(try await w.sources.source("rules")?.state == .ready)

        // Re-indexed from its pieces: a new version, the same text, the old pieces gone.
        let outcome = try #require(try await KnowledgeIntake.reindex("rules", limit: 1_000, pool: w.pool, keys: w.services.keys))
        try await FlowRun.untilIdle([KnowledgeIndexing.queue], services: w.services, broker: w.broker, pool: w.pool)
        let reindexed = try await w.points("rules")
        #expect(reindexed.count == 1 && reindexed[0]["version"] == .string(outcome.source.version))
        #expect(reindexed[0]["text"]?.string == "No parties after 22:00.")
        #expect(try await w.sources.source("rules")?.from == nil, "a finished re-index forgets where it came from")

        // Removed for good: nothing of it left; a source with nothing to index from says so.
        _ = try await KnowledgeRemoval.remove("rules", pool: w.pool, keys: w.services.keys)
        try await FlowRun.untilIdle([KnowledgeIndexing.queue], services: w.services, broker: w.broker, pool: w.pool)
        #expect(try await w.points("rules").isEmpty)
        var failed = again
        failed.version = "third"
        try await w.sources.ask(failed, text: nil)
        await #expect(throws: DocumentError.self) {
            try await KnowledgeIntake.reindex("rules", limit: 1_000, pool: w.pool, keys: w.services.keys)
        }
    }

    @Test func aListingsFactsAreItsKnowledgeReplacedOnUpdateAndRemovedWithIt() async throws {
        let w = try await World()
        var facts = ListingFacts(event: "listing.new", listingID: "L1")
        facts.title = "Sea View Loft"
        facts.checkInTime = "15:00"
        facts.access = "Key box code 4711, left of the door."
        facts.houseRules = "No parties."
        func run(_ facts: ListingFacts) async throws {
            try await w.broker.add(try ListingKnowledge.request(facts, dedupe: UUID().uuidString).envelope(), to: ListingKnowledge.queue)
            try await FlowRun.untilIdle([ListingKnowledge.queue], services: w.services, broker: w.broker, pool: w.pool)
        }
        try await run(facts)
        let points = try await w.points("listing:L1")
        #expect(points.count == 3 && points.allSatisfy { $0["listing_id"] == .string("L1") })
        #expect(
            points.filter { $0["restricted"] == .bool(true) }.compactMap { $0["text"]?.string } == ["Key box code 4711, left of the door."])
        #expect(points.contains { $0["text"]?.string?.contains("Check-in from 15:00.") == true })

        let calls = w.embeddings.requests.count
        facts.event = "listing.updated"
        try await run(facts)
        #expect(w.embeddings.requests.count == calls, "an update that changes nothing guests read embeds nothing")

        facts.houseRules = "No parties. Quiet after 22:00."
        try await run(facts)
        let updated = try await w.points("listing:L1")
        #expect(updated.count == 3 && updated.contains { $0["text"]?.string?.contains("Quiet after 22:00") == true })
        #expect(Set(updated.compactMap { $0["version"]?.string }).count == 1, "one version left")

        try await w.stay("R1", key: "phone:33611111111", listing: "L1", status: "confirmed", conversation: 21)
        try await w.stay("R4", key: "phone:33644444444", listing: "L1", status: "inquiry", conversation: 24)
        let prompts = try await w.askEveryone()
        #expect(prompts[21]?.contains("4711") == true && prompts[21]?.contains("Quiet after 22:00") == true)
        #expect(prompts[24]?.contains("Quiet after 22:00") == true && prompts[24]?.contains("4711") == false)
        #expect(prompts[23]?.contains("Sea View Loft") == false, "another listing's facts are not a stranger's")

        try await run(ListingFacts(event: "listing.removed", listingID: "L1", removed: true))
        #expect(try await w.points("listing:L1").isEmpty)
        #expect(try await w.sources.source("listing:L1") == nil)
    }
}
