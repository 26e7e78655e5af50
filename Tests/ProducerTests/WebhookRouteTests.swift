import Foundation
import Jobs
import Queue
import Services
import TestSupport
import Testing

@testable import Producer

/// Each webhook route over real HTTP against a real Redis: what is accepted, what is refused and
/// how, and exactly what reaches the stream.
@Suite struct GuestyRouteTests {
    @Test func aSignedReservationIsEnqueuedAndItsReplayIsAnsweredWithTheSameJob() async throws {
        let h = try await ProducerHarness()
        let body = Fixtures.guestyReservation()
        let first = try await h.guesty(body, id: "msg_p5jXN8AQM9LWM0D4loKWxJek")
        #expect(first.status == 202, "\(first.text)")
        let jobID = try #require(ProducerHarness.json(first)["job_id"] as? String)
        let replay = try await h.guesty(body, id: "msg_p5jXN8AQM9LWM0D4loKWxJek")
        #expect(replay.status == 200)
        #expect(ProducerHarness.json(replay)["job_id"] as? String == jobID)
        #expect(ProducerHarness.json(replay)["duplicate"] as? Bool == true)
        let entries = try await h.entries("vectorize")
        #expect(entries.count == 1)
        let entry = try #require(entries.first)
        #expect(entry["id"] == jobID && entry["kind"] == "booking.vectorize" && entry["dedupe"] == "guesty:msg_p5jXN8AQM9LWM0D4loKWxJek")
        let payload = try ProducerHarness.payload(entry)
        #expect(payload["reservation_id"] as? String == "62a08097b8a1ab0037fd3feb")
        #expect(payload["guest_name"] as? String == "Ada Lovelace")
        #expect(payload["listing_title"] as? String == "Sea view loft")
        #expect(payload["check_in"] as? String == "2026-12-01T15:00:00.000Z")
        let ttl = try await h.pool.send("TTL", h.keys.dedupe("guesty:msg_p5jXN8AQM9LWM0D4loKWxJek")).integer ?? 0
        #expect(ttl > 24 * 3600, "dedupe keys outlive the senders' retries")
    }

    @Test func v2EventsStartTheBookingFlowAndOtherEventsAreAcknowledged() async throws {
        let h = try await ProducerHarness()
        #expect(try await h.guesty(Fixtures.guestyReservation(event: "reservation.updated.v2", id: "R2")).status == 202)
        let other = try await h.guesty(#"{"event": "listing.calendar.updated", "listing": {"_id": "L1"}}"#)
        #expect(other.status == 200 && (ProducerHarness.json(other)["ignored"] as? String)?.contains("listing.calendar.updated") == true)
        #expect(try await h.length("vectorize") == 1)
    }

    /// A listing's guest-facing facts become the knowledge of that listing; its private description
    /// never leaves the producer; a field of the wrong type is left out, an oversized one cut.
    @Test func listingEventsStartTheListingsKnowledgeWithItsPublicFactsOnly() async throws {
        let h = try await ProducerHarness()
        let huge = String(repeating: "sea view ", count: 6_000)
        let body = """
            {"event": "listing.updated", "listing": {"_id": "L1", "title": "Sea View Loft", "nickname": "loft-internal",
             "address": {"full": "Quai des Belges 12, Marseille"}, "defaultCheckInTime": "15:00", "defaultCheckOutTime": "11:00",
             "accommodates": 4, "bedrooms": "two", "bathrooms": 1.5, "amenities": ["Wifi", "Kitchen"],
             "publicDescription": {"summary": "A loft over the port.", "access": "Key box code 4711, left of the door.",
               "houseRules": "No parties.", "space": "\(huge)"},
             "privateDescription": {"notes": "Owner's safe code 9999"}, "notes": "cleaner paid in cash"}}
            """
        let updated = try await h.guesty(body, id: "msg_listing_1")
        #expect(updated.status == 202, "\(updated.text)")
        let entries = try await h.entries("knowledge")
        #expect(entries.count == 1 && entries[0]["kind"] == "knowledge.listing" && entries[0]["dedupe"] == "guesty:msg_listing_1")
        let payload = try #require(entries[0]["payload"])
        let facts = try JSONDecoder().decode(ListingFacts.self, from: Data(payload.utf8))
        #expect(facts.listingID == "L1" && facts.title == "Sea View Loft" && facts.address == "Quai des Belges 12, Marseille")
        #expect(facts.checkInTime == "15:00" && facts.capacity == 4 && facts.bedrooms == nil && facts.bathrooms == 1.5)
        #expect(facts.access == "Key box code 4711, left of the door." && facts.amenities == ["Wifi", "Kitchen"])
        #expect((facts.space?.count ?? 0) <= 20_002, "an oversized description is cut")
        #expect(!payload.contains("9999") && !payload.contains("cash") && !payload.contains("loft-internal"), "nothing private")

        let removed = try await h.guesty(#"{"event": "listing.removed", "listing": {"_id": "L1"}}"#)
        #expect(removed.status == 202)
        let last = try #require(try await h.entries("knowledge").last?["payload"])
        #expect(
            try JSONDecoder().decode(ListingFacts.self, from: Data(last.utf8))
                == ListingFacts(event: "listing.removed", listingID: "L1", removed: true))
        let noID = try await h.guesty(#"{"event": "listing.updated", "listing": {"title": "x"}}"#)
        #expect(noID.status == 400 && noID.text.contains("listing._id"), "\(noID.text)")
    }

    @Test func forgedStaleOrUnsignedDeliveriesGetABare401() async throws {
        let h = try await ProducerHarness()
        let body = Fixtures.guestyReservation()
        let wrongKey = try await h.guesty(body, secret: "whsec_" + Data("another key entirely".utf8).base64EncodedString())
        let stale = try await h.guesty(body, timestamp: Int(Date().timeIntervalSince1970) - 330)
        let future = try await h.guesty(body, timestamp: Int(Date().timeIntervalSince1970) + 330)
        let unsigned = try await h.post("/webhooks/guesty", json: body)
        var tampered = ProducerHarness.svixHeaders(body, id: "msg_1")
        tampered[0].1 = "msg_2"
        let replayedUnderAnotherID = try await h.post("/webhooks/guesty", json: body, headers: tampered)
        // Well past the 5 minutes (the exact edges are unit-tested with a fixed clock: a real clock
        // may tick between signing here and checking there).
        for reply in [wrongKey, stale, future, unsigned, replayedUnderAnotherID] {
            #expect(reply.status == 401)
            #expect(reply.text == "{\"error\":\"unauthorized\"}\n", "nothing says which part failed")
        }
        #expect(try await h.length("vectorize") == 0)
        // The log says why, for the operator, without the secret or the signature.
        #expect(h.log.count(containing: "not authentic") == 5)
        #expect(!h.log.lines.joined().contains(String(ProducerHarness.guestySecret.dropFirst(6))))
        #expect(!h.log.lines.joined().contains(tampered[2].1))
    }

    @Test func aSignedButMalformedBodyIs400NamingTheField() async throws {
        let h = try await ProducerHarness()
        let noID = try await h.guesty(#"{"event": "reservation.new", "reservation": {"status": "confirmed"}}"#)
        #expect(noID.status == 400)
        #expect(ProducerHarness.json(noID)["field"] as? String == "reservation._id")
        let noEvent = try await h.guesty(#"{"reservation": {"_id": "x"}}"#)
        #expect(noEvent.status == 400 && ProducerHarness.json(noEvent)["field"] as? String == "event")
        let wrongType = try await h.guesty(#"{"event": 7}"#)
        #expect(wrongType.status == 400 && ProducerHarness.json(wrongType)["field"] as? String == "event")
        let notJSON = try await h.guesty("{\"event\": \"reservation.new\", ")
        #expect(notJSON.status == 400 && ProducerHarness.json(notJSON)["error"] as? String == "body is not a JSON object")
    }
}

@Suite struct ChatwootRouteTests {
    @Test func anIncomingTextMessageStartsTheChatFlowOnce() async throws {
        let h = try await ProducerHarness()
        let body = Fixtures.chatwootMessage()
        let reply = try await h.chatwoot(body)
        #expect(reply.status == 202, "\(reply.text)")
        // Chatwoot's Sidekiq retry of the same message (a new timestamp and signature) is one job.
        let retry = try await h.chatwoot(body, timestamp: Int(Date().timeIntervalSince1970) - 10)
        #expect(retry.status == 200 && ProducerHarness.json(retry)["job_id"] as? String == ProducerHarness.json(reply)["job_id"] as? String)
        let entries = try await h.entries("retrieve")
        #expect(entries.count == 1 && entries.first?["kind"] == "chat.retrieve")
        let payload = try ProducerHarness.payload(try #require(entries.first))
        #expect(payload["account_id"] as? Int == 1 && payload["conversation_id"] as? Int == 10 && payload["message_id"] as? Int == 118)
        #expect(payload["content"] as? String == "Is the pool heated?")
        #expect(
            h.log.lines.contains {
                $0.contains("job enqueued") && $0.contains("job.id=\(entries[0]["id"]!)") && $0.contains("hb.request.id=")
            })
    }

    @Test func theBotNeverAnswersItself() async throws {
        let h = try await ProducerHarness()
        let outgoing = try await h.chatwoot(Fixtures.chatwootMessage(id: 200, type: "outgoing", senderType: "agent_bot"))
        let note = try await h.chatwoot(Fixtures.chatwootMessage(id: 201, isPrivate: true))
        let fromAgent = try await h.chatwoot(Fixtures.chatwootMessage(id: 202, senderType: "user"))
        let updated = try await h.chatwoot(Fixtures.chatwootMessage(id: 203, event: "message_updated"))
        for reply in [outgoing, note, fromAgent, updated] {
            #expect(reply.status == 200 && ProducerHarness.json(reply)["ignored"] != nil, "\(reply.text)")
        }
        #expect(try await h.length("retrieve") == 0)
        #expect(try await h.length("transcribe") == 0)
    }

    /// A resolved conversation (the agent bot's conversation_resolved, or an account webhook's
    /// conversation_status_changed to resolved) is read for candidate knowledge, once per resolution.
    @Test func aResolvedConversationIsReadForCandidateKnowledge() async throws {
        let h = try await ProducerHarness()
        let resolved = #"{"event": "conversation_resolved", "id": 10, "account_id": 1, "status": "resolved", "updated_at": 1796600000}"#
        #expect(try await h.chatwoot(resolved).status == 202)
        #expect(try await h.chatwoot(resolved).status == 200, "Chatwoot's retry of the same resolution")
        let changed =
            #"{"event": "conversation_status_changed", "id": 11, "account_id": 1, "status": "resolved", "updated_at": 1796600100}"#
        #expect(try await h.chatwoot(changed).status == 202)
        let reopened = #"{"event": "conversation_status_changed", "id": 12, "account_id": 1, "status": "open"}"#
        let ignored = try await h.chatwoot(reopened)
        #expect(ignored.status == 200 && (ProducerHarness.json(ignored)["ignored"] as? String)?.contains("not resolved") == true)
        let hostile = #"{"event": "conversation_resolved", "id": 13, "account_id": 1, "updated_at": 1e308}"#
        #expect(try await h.chatwoot(hostile).status == 202, "a hostile time is left out, not a trap")
        let entries = try await h.entries("knowledge")
        #expect(entries.count == 3 && entries.allSatisfy { $0["kind"] == "knowledge.candidates" })
        let payload = try ProducerHarness.payload(entries[0])
        #expect(payload["account_id"] as? Int == 1 && payload["conversation_id"] as? Int == 10)
    }

    /// Every new conversation is triaged once: from conversation_created (an account webhook), or
    /// from its first message where only the agent bot's events arrive.
    @Test func aNewConversationIsTriagedOnceWhicheverEventComesFirst() async throws {
        let h = try await ProducerHarness()
        let created = try await h.chatwoot(Fixtures.conversationCreated(id: 10))
        #expect(created.status == 202, "\(created.text)")
        let message = try await h.chatwoot(Fixtures.chatwootMessage(id: 118))
        #expect(message.status == 202)
        let triage = try await h.entries("triage")
        #expect(triage.count == 1 && triage.first?["kind"] == "conversation.triage", "\(triage)")
        let payload = try ProducerHarness.payload(try #require(triage.first))
        #expect(payload["account_id"] as? Int == 1 && payload["conversation_id"] as? Int == 10)
        #expect(payload["phone"] as? String == "+33612345678" && payload["email"] as? String == "ada@example.com")
        #expect(payload["contact_id"] as? Int == 14, "the contact, recorded by triage as one Switchboard holds data about")
        #expect(try await h.length("retrieve") == 1)
        // Another conversation whose first event is a message (an agent bot only).
        #expect(try await h.chatwoot(Fixtures.chatwootMessage(id: 119, conversation: 11)).status == 202)
        #expect(try await h.length("triage") == 2)
        let hostile = try await h.chatwoot(#"{"event": "conversation_created", "id": -4, "account_id": 1}"#)
        #expect(hostile.status == 400, "\(hostile.text)")
    }

    /// The answer names the flow; the message's job is the flow, the conversation's triage it
    /// starts belongs to it, and a caller's well-formed traceparent goes with both.
    @Test func aMessageStartsOneFlowThatCarriesTheCallersTrace() async throws {
        let h = try await ProducerHarness()
        let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let reply = try await h.chatwoot(Fixtures.chatwootMessage(id: 118), headers: [("traceparent", traceparent)])
        #expect(reply.status == 202, "\(reply.text)")
        let flow = try #require(ProducerHarness.json(reply)["flow_id"] as? String)
        #expect(ProducerHarness.json(reply)["job_id"] as? String == flow)
        let message = try #require(try await h.entries("retrieve").first)
        #expect(message["id"] == flow && message["flow"] == nil && message["trace"] == traceparent)
        let triage = try #require(try await h.entries("triage").first)
        #expect(triage["id"] != flow && triage["flow"] == flow && triage["trace"] == traceparent)
        // A header that is not a W3C traceparent is dropped, not carried into the stream.
        let hostile = try await h.chatwoot(
            Fixtures.chatwootMessage(id: 119, conversation: 11),
            headers: [("traceparent", "00-\(String(repeating: "z", count: 32))-b7ad6b7169203331-01")])
        #expect(hostile.status == 202)
        let second = try #require(try await h.entries("retrieve").last)
        #expect(second["id"] == ProducerHarness.json(hostile)["flow_id"] as? String && second["trace"] == nil)
        let duplicate = try await h.chatwoot(Fixtures.chatwootMessage(id: 118))
        #expect(duplicate.status == 200 && ProducerHarness.json(duplicate)["flow_id"] as? String == flow)
    }

    /// An agent's private note to the assistant, and a team member's question in a team inbox,
    /// start the chat flow for the team; other private notes start nothing.
    @Test func theTeamAsksTheAssistant() async throws {
        let h = try await ProducerHarness { $0.assistantInboxes = [7] }
        let note = Fixtures.chatwootMessage(
            id: 500, type: "outgoing", isPrivate: true, content: "@assistant did she ask about a dog?", senderType: "user",
            assignee: #"{"id": 3}"#
        )
        .replacingOccurrences(
            of: #""meta": {"sender": {}"#,
            with: #""meta": {"sender": {"id": 14, "email": "Ada@Example.com", "phone_number": "+33 6 12 34 56 78", "type": "contact"}"#)
        #expect(try await h.chatwoot(note).status == 202)
        let plain = try await h.chatwoot(
            Fixtures.chatwootMessage(id: 501, type: "outgoing", isPrivate: true, content: "call her back", senderType: "user"))
        #expect(plain.status == 200 && ProducerHarness.json(plain)["ignored"] != nil)
        let team = Fixtures.chatwootMessage(
            id: 502, type: "outgoing", content: "What did the dog guest say?", senderType: "user", assignee: #"{"id": 3}"#
        )
        .replacingOccurrences(of: #""inbox": {"id": 1"#, with: #""inbox": {"id": 7"#)
        #expect(try await h.chatwoot(team).status == 202, "a team inbox is answered whoever is assigned")
        let entries = try await h.entries("retrieve")
        #expect(entries.count == 2)
        let asked = try entries.map { try ProducerHarness.payload($0) }
        #expect(asked[0]["audience"] as? String == "agent" && asked[0]["content"] as? String == "did she ask about a dog?")
        #expect(
            asked[0]["verified_guest"] == nil && asked[0]["guest_keys"] == nil,
            "the email and phone the contact typed identify no one: \(asked[0])")
        #expect(asked[1]["audience"] as? String == "team")
        #expect(try await h.length("triage") == 0, "no triage for the team's questions")
    }

    /// The operator's retry budgets fix each job's attempts at its enqueue: the flow's for its entry,
    /// a kind's own over it (here the triage that goes with a first message).
    @Test func eachJobsAttemptsComeFromTheBudgetsGivenToTheProducer() async throws {
        let budgets = try RetryBudgets(environment: ["RETRY_CHAT": "7/1s/2s", "RETRY_CONVERSATION_TRIAGE": "9/1s/2s"])
        let h = try await ProducerHarness { $0.budgets = budgets }
        #expect(try await h.chatwoot(Fixtures.chatwootMessage(id: 720)).status == 202)
        #expect(try await h.entries("retrieve").first?["max_attempts"] == "7")
        #expect(try await h.entries("triage").first?["max_attempts"] == "9")
        let plain = try await ProducerHarness()
        #expect(try await plain.chatwoot(Fixtures.chatwootMessage(id: 721)).status == 202)
        #expect(
            try await plain.entries("retrieve").first?["max_attempts"] == String(Flows.chat.retry.maxAttempts),
            "no setting: the flow's default")
    }

    /// A contact writing in a team inbox (a widget whose token leaked, an email inbox anyone can
    /// write to) is not the team; in a staff inbox (an API inbox whose contacts are all staff)
    /// only contacts' incoming messages on the API channel are.
    @Test func onlyTheTeamGetsTheTeamsTreatment() async throws {
        let h = try await ProducerHarness {
            $0.assistantInboxes = [7]; $0.staffInboxes = [9]
        }
        func inInbox(_ inbox: Int, _ message: String, channel: String = "Channel::Api") -> String {
            message.replacingOccurrences(of: #""inbox": {"id": 1"#, with: #""inbox": {"id": \#(inbox)"#)
                .replacingOccurrences(of: #""channel": "Channel::Api""#, with: #""channel": "\#(channel)""#)
        }
        let contactInTeamInbox = try await h.chatwoot(
            inInbox(7, Fixtures.chatwootMessage(id: 700, content: "What did Bob book?", senderType: "contact")))
        #expect(
            contactInTeamInbox.status == 200
                && (ProducerHarness.json(contactInTeamInbox)["ignored"] as? String)?.contains("only the team's members") == true,
            "\(contactInTeamInbox.text)")
        let userInStaffInbox = try await h.chatwoot(
            inInbox(9, Fixtures.chatwootMessage(id: 701, type: "outgoing", content: "Bob booked R-7.", senderType: "user")))
        #expect(
            userInStaffInbox.status == 200 && ProducerHarness.json(userInStaffInbox)["ignored"] != nil,
            "a user's message there is an answer")
        let widgetInStaffInbox = try await h.chatwoot(
            inInbox(9, Fixtures.chatwootMessage(id: 702, content: "What did Bob book?"), channel: "Channel::WebWidget"))
        #expect(
            widgetInStaffInbox.status == 200 && ProducerHarness.json(widgetInStaffInbox)["ignored"] != nil, "a staff inbox is an API inbox")
        #expect(try await h.length("retrieve") == 0)
        let staff = try await h.chatwoot(
            inInbox(9, Fixtures.chatwootMessage(id: 703, content: "What did Bob book?", senderType: "contact")))
        #expect(staff.status == 202)
        let asked = try ProducerHarness.payload(try #require(try await h.entries("retrieve").first))
        #expect(asked["audience"] as? String == "team")
    }

    /// The number a WhatsApp conversation comes from is the channel's, not typed by the guest: an
    /// agent's note there carries it as the verified guest.
    @Test func anAgentsNoteInAPhoneChannelCarriesTheChannelsNumber() async throws {
        let h = try await ProducerHarness()
        let note = Fixtures.chatwootMessage(
            id: 510, type: "outgoing", isPrivate: true, content: "@assistant did she ask about a dog?", senderType: "user"
        )
        .replacingOccurrences(
            of: #""meta": {"sender": {}"#,
            with: #""meta": {"sender": {"id": 14, "email": "ada@example.com", "phone_number": "+33 6 12 34 56 78", "type": "contact"}"#
        )
        .replacingOccurrences(of: #""channel": "Channel::Api""#, with: #""channel": "Channel::Whatsapp""#)
        #expect(try await h.chatwoot(note).status == 202)
        let asked = try ProducerHarness.payload(try #require(try await h.entries("retrieve").first))
        let guest = asked["verified_guest"] as? [[String: String]]
        #expect(guest == [["key": "phone:33612345678", "source": "the number this Whatsapp conversation comes from"]], "\(asked)")
    }

    /// Chatwoot keeps sending a conversation's messages to the bot after a person took it: the
    /// payload's own status and assignee say so, and nothing is started.
    @Test func aConversationAPersonHasStartsNothing() async throws {
        let h = try await ProducerHarness()
        let assigned = try await h.chatwoot(Fixtures.chatwootMessage(id: 400, assignee: #"{"id": 3, "name": "Maya", "type": "user"}"#))
        let snoozed = try await h.chatwoot(Fixtures.chatwootMessage(id: 401, status: "snoozed"))
        for reply in [assigned, snoozed] {
            #expect(
                reply.status == 200
                    && (ProducerHarness.json(reply)["ignored"] as? String)?.contains("a person has the conversation") == true,
                "\(reply.text)")
        }
        let pending = try await h.chatwoot(Fixtures.chatwootMessage(id: 402, status: "pending"))
        #expect(pending.status == 202)
        #expect(try await h.length("retrieve") == 1)
    }

    @Test func anAudioAttachmentStartsTheVoiceFlow() async throws {
        let h = try await ProducerHarness()
        let reply = try await h.chatwoot(Fixtures.chatwootMessage(id: 300, content: nil, attachments: Fixtures.audioAttachment))
        #expect(reply.status == 202, "\(reply.text)")
        let entries = try await h.entries("transcribe")
        #expect(entries.count == 1 && entries.first?["kind"] == "voice.transcribe")
        let payload = try ProducerHarness.payload(try #require(entries.first))
        let audio = try #require(payload["audio"] as? [String: Any])
        #expect(audio["url"] as? String == "https://chat.example.com/rails/active_storage/blobs/voice.ogg")
        #expect(audio["content_type"] as? String == "audio/ogg")
        #expect(payload["message_id"] as? Int == 300)
        #expect(try await h.length("retrieve") == 0)
    }

    /// Chatwoot's message builder leaves `extension` null: the type comes from the URL's file name.
    @Test func anAudioAttachmentWithoutItsExtensionIsTypedByItsFileName() async throws {
        let h = try await ProducerHarness()
        let attachment =
            #"[{"id": 6, "message_id": 301, "file_type": "audio", "account_id": 1, "extension": null, "data_url": "https://chat.example.com/rails/active_storage/blobs/redirect/eyJf/recording.MP3?disposition=attachment", "file_size": 2048}]"#
        #expect(try await h.chatwoot(Fixtures.chatwootMessage(id: 301, content: nil, attachments: attachment)).status == 202)
        let entry = try #require(try await h.entries("transcribe").first)
        let audio = try #require(try ProducerHarness.payload(entry)["audio"] as? [String: Any])
        #expect(audio["content_type"] as? String == "audio/mpeg", "\(audio)")
    }

    @Test func withASecretConfiguredUnsignedAndForgedDeliveriesAreRefused() async throws {
        let h = try await ProducerHarness()
        let body = Fixtures.chatwootMessage()
        #expect(try await h.post("/webhooks/chatwoot", json: body).status == 401)
        #expect(try await h.chatwoot(body, secret: "wrong").status == 401)
        #expect(try await h.chatwoot(body, timestamp: Int(Date().timeIntervalSince1970) - 400).status == 401)
        #expect(try await h.length("retrieve") == 0)
    }

    @Test func withoutASecretUnsignedDeliveriesAreTaken() async throws {
        let h = try await ProducerHarness { $0.chatwootSecret = nil }
        #expect(try await h.post("/webhooks/chatwoot", json: Fixtures.chatwootMessage()).status == 202)
    }

    @Test func aMessageWithoutItsConversationIs400() async throws {
        let h = try await ProducerHarness()
        let body = #"{"event": "message_created", "id": 5, "message_type": "incoming", "content": "hi", "account": {"id": 1}}"#
        let reply = try await h.chatwoot(body)
        #expect(reply.status == 400 && ProducerHarness.json(reply)["field"] as? String == "conversation.id")
    }
}

@Suite struct AircallRouteTests {
    @Test func anEndedCallWithARecordingStartsTheCallFlow() async throws {
        let h = try await ProducerHarness()
        let reply = try await h.aircall(Fixtures.aircall())
        #expect(reply.status == 202, "\(reply.text)")
        #expect(try await h.aircall(Fixtures.aircall()).status == 200, "Aircall's retry")
        let entries = try await h.entries("download")
        #expect(entries.count == 1 && entries.first?["kind"] == "call.download")
        let payload = try ProducerHarness.payload(try #require(entries.first))
        #expect(payload["call_id"] as? Int == 812 && payload["source"] as? String == "recording")
        #expect(payload["recording_url"] as? String == "https://aircall-recordings.s3.amazonaws.com/812.mp3")
        #expect(payload["raw_digits"] as? String == "+33 6 12 34 56 78" && payload["agent_name"] as? String == "Grace")
    }

    @Test func aVoicemailAnnouncedTwiceIsOneJob() async throws {
        let h = try await ProducerHarness()
        let url = "https://aircall-recordings.s3.amazonaws.com/vm-9.mp3"
        let left = try await h.aircall(Fixtures.aircall(event: "call.voicemail_left", callID: 9, recording: nil, voicemail: url))
        let ended = try await h.aircall(Fixtures.aircall(event: "call.ended", callID: 9, recording: nil, voicemail: url))
        #expect(left.status == 202 && ended.status == 200)
        #expect(try await h.length("download") == 1)
    }

    @Test func otherEventsAndCallsWithoutAudioAreAcknowledged() async throws {
        let h = try await ProducerHarness()
        let created = try await h.aircall(Fixtures.aircall(event: "call.created", recording: nil))
        let noAudio = try await h.aircall(Fixtures.aircall(recording: nil))
        #expect(created.status == 200 && noAudio.status == 200)
        #expect(try await h.length("download") == 0)
    }

    @Test func aWrongOrMissingTokenIs401() async throws {
        let h = try await ProducerHarness()
        #expect(try await h.aircall(Fixtures.aircall(token: "45XXYYZZa07")).status == 401)
        #expect(try await h.aircall(#"{"event": "call.ended", "data": {"id": 1}}"#).status == 401)
        #expect(!h.log.lines.joined().contains(ProducerHarness.aircallToken))
        #expect(try await h.length("download") == 0)
    }
}

/// What every route shares: content types, sizes, methods, unknown paths, health.
@Suite struct HTTPSemanticsTests {
    @Test func wrongContentTypeIs415() async throws {
        let h = try await ProducerHarness()
        let reply = try await h.post("/webhooks/aircall", json: Fixtures.aircall(), contentType: "text/plain")
        #expect(reply.status == 415 && reply.text.contains("application/json"))
        #expect(
            try await h.post("/webhooks/aircall", json: Fixtures.aircall(), contentType: "application/json; charset=utf-8").status == 202)
    }

    @Test func bodiesOverTheLimitAre413WhetherDeclaredOrStreamed() async throws {
        let h = try await ProducerHarness()
        let big = Array(repeating: UInt8(ascii: "a"), count: 2 << 20)
        let declared = try await LoopbackHTTP.send(
            port: h.port, path: "/webhooks/guesty", headers: [("Content-Type", "application/json")], body: big)
        let streamed = try await LoopbackHTTP.send(
            port: h.port, path: "/webhooks/guesty", headers: [("Content-Type", "application/json")], body: big, chunked: true)
        #expect(declared.status == 413 && streamed.status == 413)
        #expect(declared.headers["connection"] == "close")
        #expect(try await h.get("/healthz").status == 200, "the producer goes on serving")
    }

    @Test func unknownPathsAre404AndWrongMethods405() async throws {
        let h = try await ProducerHarness()
        #expect(try await h.get("/webhooks/zapier").status == 404)
        let wrong = try await h.get("/webhooks/guesty")
        #expect(wrong.status == 405 && wrong.headers["allow"] == "POST")
        #expect(try await LoopbackHTTP.send(port: h.port, method: "DELETE", path: "/healthz").headers["allow"] == "GET")
    }

    @Test func routesWithoutACredentialAreNotServed() async throws {
        let h = try await ProducerHarness {
            $0.aircallToken = nil; $0.guestySecret = nil; $0.voiceUploadToken = nil
        }
        #expect(try await h.aircall(Fixtures.aircall()).status == 404)
        #expect(try await h.guesty(Fixtures.guestyReservation()).status == 404)
        #expect(try await h.post("/voice", json: "x", contentType: "audio/ogg").status == 404)
    }

    @Test func aMalformedGuestySecretFailsAtStartNamingTheVariable() async throws {
        await #expect(throws: ConfigurationError.self) {
            _ = try await ProducerHarness { $0.guestySecret = "whsec_***not base64***" }
        }
    }

    @Test func readyzFollowsRedis() async throws {
        let h = try await ProducerHarness()
        let ready = try await h.get("/readyz")
        #expect(ready.status == 200)
        #expect(ProducerHarness.json(ready)["status"] as? String == "ready")
        h.server.stop(graceful: false)
        let down = try await h.get("/readyz")
        #expect(down.status == 503 && down.headers["retry-after"] != nil)
    }
}
