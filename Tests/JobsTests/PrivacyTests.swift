import Blobs
import Foundation
import Logging
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// A guest's data found and forgotten, against real parts: redis-server, moto's S3 server (the
/// blob store, Chatwoot's attachment bucket and the mirror), and Qdrant's filter semantics through
/// qdrant-client's local mode. Two guests — Ana and Bob — each with a call, a booking, voice
/// messages, a dead letter, a waiting job, history and attachments; whatever is done about Ana
/// must leave every one of Bob's untouched.
@Suite(.enabled(if: LocalQdrant.available && MotoS3Server.available), .serialized) struct PrivacyTests {
    static let anaPhone = "+33 6 11 11 11 11"
    static let bobPhone = "+44 7700 900123"

    final class World: Sendable {
        let server: RedisServer
        let pool: RedisPool
        let broker: Broker
        let qdrant: LocalQdrant
        let embeddings: FakeService
        let chatwoot: FakeChatwoot
        let s3: MotoS3Server
        let blobs: BlobStore
        let mirror: MirrorSettings
        let services: FlowServices

        init(prefix: String = #function) async throws {
            server = try await RedisServer()
            pool = RedisPool(endpoint: server.endpoint, size: 2)
            let keys = Keys(prefix: prefix.filter { $0.isLetter || $0.isNumber })
            broker = Broker(pool: pool, keys: keys)
            qdrant = try await LocalQdrant()
            embeddings = try await FakeService { received in
                let inputs = jsonFields(received.body)["input"] as? [String] ?? []
                let items = inputs.indices.map { #"{"object":"embedding","index":\#($0),"embedding":[1.0,0.0,0.0]}"# }
                return FakeService.answer(.ok, #"{"object":"list","data":[\#(items.joined(separator: ","))],"model":"m"}"#)
            }
            chatwoot = try await FakeChatwoot(
                token: "cw",
                contacts: [
                    .init(id: 7, name: "Ana", email: "ana@example.com", phone: "+33611111111"),
                    .init(id: 8, name: "Bob", email: "bob@example.com", phone: "+447700900123"),
                ],
                conversations: [.init(id: 21, contact: 7), .init(id: 22, contact: 8)])
            s3 = try await MotoS3Server(bucket: "media")
            try await s3.makeBucket("chatwoot")
            try await s3.makeBucket("mirror")
            let http = HTTPClient()
            blobs = try BlobStore(
                location: "s3://media/switchboard", s3: S3Settings(endpoint: s3.url, accessKeyID: "AK", secretAccessKey: "sk"), http: http)
            let signer = SignatureV4(accessKeyID: "AK", secretAccessKey: "sk", region: "us-east-1")
            mirror = MirrorSettings(
                source: S3Client(endpoint: s3.url, bucket: "chatwoot", signer: signer, http: http),
                r2: R2Settings(client: S3Client(endpoint: s3.url, bucket: "mirror", signer: signer, http: http)))
            var services = FlowServices(
                embeddings: EmbeddingsClient(baseURL: embeddings.url + "/v1", apiKey: "sk", model: "m", http: http),
                qdrant: QdrantClient(baseURL: qdrant.url, apiKey: qdrant.apiKey, collection: "knowledge", http: http),
                completions: ChatCompletionsClient(baseURL: embeddings.url, apiKey: "gsk", model: "m", http: http),
                chatwoot: ChatwootClient(baseURL: chatwoot.url, apiToken: "cw", http: http),
                systemPrompt: "You are the front desk.", keys: keys, blobs: blobs, account: 1)
            services.retention.forgetDeletedContacts = true
            self.services = services
        }

        var keys: Keys { broker.keys }

        func data(qdrantURL: String? = nil) -> PersonalData {
            var qdrant = services.qdrant
            if let qdrantURL { qdrant = QdrantClient(baseURL: qdrantURL, apiKey: nil, collection: "knowledge", http: HTTPClient()) }
            return PersonalData(
                pool: pool, keys: keys, account: 1, qdrant: qdrant, chatwoot: services.chatwoot, blobs: blobs, mirror: mirror,
                queues: StageGraph.queues)
        }

        func run(_ request: PrivacyRequest, qdrantURL: String? = nil) async -> PrivacyReport {
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            return await data(qdrantURL: qdrantURL).run(request, logger: logger)
        }

        /// One guest's whole trail, through the flows' own stages where they write it.
        func seed(guest: String, phone: String, email: String, contact: Int, conversation: Int, call: Int, reservation: String) async throws
        {
            let recording = CallRecording(
                event: "call.ended", callID: call, recordingURL: "https://aircall.example/\(call).mp3", source: "recording",
                direction: "inbound", rawDigits: phone, startedAt: 1_764_000_000, endedAt: 1_764_000_300, duration: 300,
                agentName: "Eve", lineName: "Front desk")
            try await broker.add(
                try Flows.call.stage(CallFlow.vectorizeKind, queue: CallFlow.vectorizeQueue)
                    .request(CallTranscript(call: recording, text: "\(guest) asked about late check-out."), dedupe: nil).envelope(),
                to: CallFlow.vectorizeQueue)
            var booking = BookingChange(event: "reservation.updated", reservationID: reservation)
            booking.status = "confirmed"
            booking.checkIn = "2026-12-20T15:00:00Z"
            booking.checkOut = "2026-12-27T10:00:00Z"
            booking.guestName = guest
            booking.guestPhone = phone
            booking.guestEmail = email
            booking.listingTitle = "Villa \(guest)"
            try await broker.add(try Flows.booking.request(booking, dedupe: nil).envelope(), to: Flows.booking.queue)
            try await FlowRun.untilIdle([CallFlow.vectorizeQueue, BookingFlow.triageQueue], services: services, broker: broker, pool: pool)
            // A guest's message: the contact is recorded as the chat flow records it.
            try await KnownContacts.record(pool: pool, keys: keys, account: 1, contact: contact, identities: [], conversation: conversation)
            for (folder, name) in [("calls", "\(call)-recording.mp3"), ("answers", "1-\(conversation)-900.ogg")] {
                let blob = try blobs.create(folder: folder, name: name)
                try await blob.append(Array("audio of \(guest)".utf8))
                try await blob.commit()
            }
            let upload = try blobs.create(folder: "voice", fileExtension: "ogg", owner: "1-\(conversation)")
            try await upload.append(Array("voice of \(guest)".utf8))
            try await upload.commit()
            let message = ChatMessage(
                accountID: 1, conversationID: conversation, inboxID: 1, messageID: 900 + contact, content: "Hello, it is \(guest)",
                senderID: contact, senderName: guest)
            let waiting = try Flows.chat.request(message, dedupe: nil).envelope()
            try await broker.add(waiting, to: Flows.chat.queue)
            let failed = try Flows.chat.request(message, dedupe: nil).envelope()
            _ = try await broker.addDead(
                Flows.chat.queue, fields: DeadLetter(failing: failed, queue: Flows.chat.queue, error: "model down", now: 1).fields)
            try await pool.send(
                RedisCommand(
                    "XADD",
                    [keys.history(Flows.chat.queue), "*", "id", failed.id, "flow", failed.id, "kind", failed.kind, "outcome", "dead"]))
            let trial =
                #"{"answered":{"message":{"verified_guest":[{"key":"phone:\#(GuestConversation.digits(phone)!)","source":"given"}]}}}"#
            try await pool.send("SET", keys.knowledgeTrial("trial-\(guest)"), trial, "EX", "3600")
        }

        func seedBoth() async throws {
            try await seed(
                guest: "Ana", phone: PrivacyTests.anaPhone, email: "ana@example.com", contact: 7, conversation: 21, call: 9001,
                reservation: "R-ANA")
            try await seed(
                guest: "Bob", phone: PrivacyTests.bobPhone, email: "bob@example.com", contact: 8, conversation: 22, call: 9002,
                reservation: "R-BOB")
            // Chatwoot's bucket: Bob's photo is there; the mirror also holds one Chatwoot has deleted.
            try await mirror.source.put("bobphoto", body: Array("bob".utf8), contentType: "image/jpeg")
            for key in ["bobphoto", "deleted1"] {
                try await mirror.r2.client.put(mirror.prefix + key, body: Array(key.utf8), contentType: "image/jpeg")
            }
        }

        /// Everything of one guest that can be counted from outside: points, reservation, blobs, jobs.
        func trail(phone: String, reservation: String, conversation: Int, call: Int) async throws -> [String: Int] {
            let digits = GuestConversation.digits(phone)!
            let points = try await services.qdrant.points(QdrantFilter(should: [.any("guest_keys", ["phone:\(digits)"])])).count
            let stay = try await pool.send("HEXISTS", keys.reservations, reservation).integer ?? 0
            var blobCount = 0
            try await blobs.forEachBlob { page in
                blobCount += page.filter { $0.path.contains("1-\(conversation)-") || $0.path.hasPrefix("calls/\(call)-") }.count
            }
            let guest = try await pool.send("EXISTS", keys.verifiedGuest(account: 1, conversation: conversation)).integer ?? 0
            let trial = try await pool.send("EXISTS", keys.knowledgeTrial(conversation == 21 ? "trial-Ana" : "trial-Bob")).integer ?? 0
            return ["points": points, "reservation": stay, "blobs": blobCount, "guest": guest, "trial": trial]
        }
    }

    static func place(_ report: PrivacyReport, _ name: String) -> PlaceReport? { report.places.first { $0.place == name } }

    @Test func findShowsEveryPlaceOfOneGuestAndNothingOfTheOther() async throws {
        let world = try await World()
        try await world.seedBoth()
        let report = await world.run(
            PrivacyRequest(phone: "0033 (6) 11-11-11-11".replacingOccurrences(of: "0033", with: "+33"), requestedBy: "test"))
        #expect(report.failed == nil)
        #expect(report.subject == "phone …1111")
        #expect(!report.forgot)
        #expect(report.chatwootContacts == [7], "Chatwoot still has Ana: the report says so")
        #expect(Self.place(report, "knowledge points")?.held == 2, "her call's piece and her booking")
        #expect(Self.place(report, "reservations")?.held == 1)
        #expect(Self.place(report, "blobs")?.held == 3, "recording, voice message, spoken answer")
        #expect(Self.place(report, "jobs waiting")?.held == 1)
        #expect(Self.place(report, "dead letters")?.held == 1)
        #expect(Self.place(report, "history")?.held == 1)
        #expect(Self.place(report, "attachments mirror")?.held == 1, "only what Chatwoot deleted")
        let records = try #require(Self.place(report, "conversation records"))
        #expect(records.items.map(\.what).contains("identities verified for conversation 21"))
        #expect(records.items.contains { $0.what.hasPrefix("a question tried") })
        let everything = report.places.flatMap(\.items).map(\.what).joined(separator: "\n")
        for bob in ["R-BOB", "9002", "1-22-", "conversation 22", "Bob"] { #expect(!everything.contains(bob), "\(bob) is Bob's") }
        #expect(!everything.contains("late check-out"), "no transcript text in a report")
        // By email and by contact id, the same person.
        let byEmail = await world.run(PrivacyRequest(email: " ANA@example.com ", requestedBy: "test"))
        #expect(byEmail.held == report.held)
        let byContact = await world.run(PrivacyRequest(contact: 7, requestedBy: "test"))
        #expect(byContact.held == report.held)
    }

    @Test func forgetRemovesOneGuestEverywhereAuditsItAndARerunFindsNothing() async throws {
        let world = try await World()
        try await world.seedBoth()
        let bobBefore = try await world.trail(phone: Self.bobPhone, reservation: "R-BOB", conversation: 22, call: 9002)
        #expect(bobBefore == ["points": 2, "reservation": 1, "blobs": 3, "guest": 1, "trial": 1])
        let dry = await world.run(PrivacyRequest(phone: Self.anaPhone, forget: true, dryRun: true, requestedBy: "test"))
        #expect(dry.dryRun && !dry.forgot && dry.removed == 0 && dry.held > 10)
        #expect(try await world.trail(phone: Self.anaPhone, reservation: "R-ANA", conversation: 21, call: 9001)["points"] == 2)

        let report = await world.run(PrivacyRequest(phone: Self.anaPhone, forget: true, requestedBy: "cli:ops"))
        #expect(report.complete && report.forgot)
        #expect(report.removed >= report.held - 1)
        #expect(
            try await world.trail(phone: Self.anaPhone, reservation: "R-ANA", conversation: 21, call: 9001)
                == ["points": 0, "reservation": 0, "blobs": 0, "guest": 0, "trial": 0])
        #expect(try await world.trail(phone: Self.bobPhone, reservation: "R-BOB", conversation: 22, call: 9002) == bobBefore)
        // Her waiting job is a dead letter without its payload, saying why; Bob's job still waits.
        let letters = StreamEntry.list(try await world.pool.send("XRANGE", world.keys.dead(Flows.chat.queue), "-", "+")).map(\.fieldMap)
        let forgotten = letters.filter { $0["error"]?.contains("forgotten on request") == true }
        #expect(forgotten.count == 1 && forgotten.first?["payload"] == "{}")
        #expect(letters.filter { $0["payload"]?.contains("Bob") == true }.count == 1, "Bob's dead letter kept")
        #expect(try await world.pool.send("XLEN", world.keys.stream(Flows.chat.queue)).integer == 1, "Bob's job still waits")
        #expect(!letters.contains { $0["payload"]?.contains("Ana") == true })
        // The mirror lost what Chatwoot deleted, kept Bob's photo.
        #expect(try await world.mirror.r2.client.head(world.mirror.prefix + "deleted1") == nil)
        #expect(try await world.mirror.r2.client.head(world.mirror.prefix + "bobphoto") != nil)
        #expect(try await world.pool.send("EXISTS", world.keys.knownContact(account: 1, contact: 7)).integer == 0)
        #expect(try await world.pool.send("EXISTS", world.keys.knownContact(account: 1, contact: 8)).integer == 1)
        // Audited: who, what, how many — the identifier only hashed.
        let audit = StreamEntry.list(try await world.pool.send("XRANGE", world.keys.audit, "-", "+")).map(\.fieldMap)
        let entry = try #require(audit.last)
        #expect(entry["action"] == "privacy.forget" && entry["who"] == "cli:ops")
        #expect(audit.map { $0["action"] } == ["privacy.dry-run", "privacy.forget"], "the look is audited too")
        let target = try #require(entry["target"])
        #expect(target.hasPrefix(PrivacyRequest(phone: Self.anaPhone, requestedBy: "").hashed + " ("), "\(target)")
        #expect(target.contains("knowledge points 2") && target.contains("blobs 3"), "counts per place: \(target)")
        #expect(entry["count"] == String(report.removed))
        let auditText = audit.flatMap { $0.values }.joined(separator: " ")
        #expect(!auditText.contains("33611111111") && !auditText.contains("ana@"))

        let again = await world.run(PrivacyRequest(phone: Self.anaPhone, forget: true, requestedBy: "cli:ops"))
        #expect(again.complete)
        #expect(again.held == Self.place(again, "attachments mirror")?.held ?? 0, "nothing of Ana's is left: \(again.places)")
        #expect(again.removed == 0)
    }

    @Test func redactKeepsTheDeadLettersWithoutTheirPayload() async throws {
        let world = try await World()
        try await world.seedBoth()
        let report = await world.run(PrivacyRequest(email: "ana@example.com", forget: true, redact: true, requestedBy: "test"))
        #expect(report.complete)
        let letters = StreamEntry.list(try await world.pool.send("XRANGE", world.keys.dead(Flows.chat.queue), "-", "+")).map(\.fieldMap)
        let modelDown = letters.filter { $0["error"] == "model down" }
        #expect(modelDown.count == 2, "Ana's letter kept, redacted, and Bob's")
        #expect(modelDown.filter { $0["payload"] == "{}" && $0["redacted_at"] != nil && $0["kind"] == Flows.chat.kind }.count == 1)
    }

    @Test func aRunningJobIsLetFinishAndTheForgetSaysItIsNotDoneUntilThen() async throws {
        let world = try await World()
        try await world.seedBoth()
        // A consumer has taken Ana's waiting job and is running it.
        try await world.broker.ensureGroup(Flows.chat.queue)
        let taken = StreamEntry.list(
            try await world.pool.send(
                "XREADGROUP", "GROUP", Keys.group, "worker-1", "COUNT", "10", "STREAMS", world.keys.stream(Flows.chat.queue), ">"
            ).array?.first?.array?.last ?? .null)
        let ana = try #require(taken.first { $0.fieldMap["payload"]?.contains("Ana") == true })
        let report = await world.run(PrivacyRequest(phone: Self.anaPhone, forget: true, requestedBy: "test", waitSeconds: 1))
        #expect(report.stillRunning == 1 && !report.complete)
        #expect(Self.place(report, "jobs running")?.held == 1)
        #expect(try await world.pool.send("XLEN", world.keys.stream(Flows.chat.queue)).integer == 2, "the running job was not touched")
        // It finishes; the next run completes.
        _ = try await world.pool.send("XACK", world.keys.stream(Flows.chat.queue), Keys.group, ana.id)
        _ = try await world.pool.send("XDEL", world.keys.stream(Flows.chat.queue), ana.id)
        let again = await world.run(PrivacyRequest(phone: Self.anaPhone, forget: true, requestedBy: "test", waitSeconds: 1))
        #expect(again.complete && again.stillRunning == 0)
    }

    @Test func qdrantDownStopsTheRunNamingItAndSayingWhatWasAlreadyRemoved() async throws {
        let world = try await World()
        try await world.seedBoth()
        let closedPort = try ClosedPort()
        defer { withExtendedLifetime(closedPort) {} }
        let closed = "http://127.0.0.1:\(closedPort.port)"
        let report = await world.run(PrivacyRequest(phone: Self.anaPhone, forget: true, requestedBy: "test"), qdrantURL: closed)
        let failed = try #require(report.failed)
        #expect(failed.hasPrefix("Qdrant:"))
        #expect(!report.complete)
        // Nothing was removed before the place that failed was needed (the person is resolved first).
        #expect(try await world.trail(phone: Self.anaPhone, reservation: "R-ANA", conversation: 21, call: 9001)["points"] == 2)
        // Run again with Qdrant back: it finishes.
        let again = await world.run(PrivacyRequest(phone: Self.anaPhone, forget: true, requestedBy: "test"))
        #expect(again.complete)
        #expect(try await world.trail(phone: Self.anaPhone, reservation: "R-ANA", conversation: 21, call: 9001)["points"] == 0)
    }

    @Test func chatwootDownStopsTheLookNamingIt() async throws {
        let world = try await World()
        try await world.seedBoth()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let closedPort = try ClosedPort()
        defer { withExtendedLifetime(closedPort) {} }
        let closed = ChatwootClient(baseURL: "http://127.0.0.1:\(closedPort.port)", apiToken: "cw", http: HTTPClient())
        let data = PersonalData(
            pool: world.pool, keys: world.keys, account: 1, qdrant: world.services.qdrant, chatwoot: closed, blobs: world.blobs,
            mirror: world.mirror, queues: StageGraph.queues)
        let report = await data.run(PrivacyRequest(phone: Self.anaPhone, forget: true, requestedBy: "test"), logger: logger)
        #expect(report.failed?.hasPrefix("Chatwoot:") == true && report.removed == 0, "\(report.failed ?? "")")
        #expect(try await world.trail(phone: Self.anaPhone, reservation: "R-ANA", conversation: 21, call: 9001)["points"] == 2)
    }

    @Test func aNewConversationsContactIsRecordedByTriageWithoutWhatItTyped() async throws {
        let world = try await World()
        let new = NewConversation(accountID: 1, conversationID: 30, phone: "+49 151 0000000", email: "typed@example.com", contactID: 40)
        try await world.broker.add(try new.request().0.envelope(), to: ConversationTriage.queue)
        try await FlowRun.untilIdle([ConversationTriage.queue], services: world.services, broker: world.broker, pool: world.pool)
        let known = try #require(try await KnownContacts.known(pool: world.pool, keys: world.keys, account: 1, contact: 40))
        #expect(known.conversations == [30] && known.keys.isEmpty, "a typed phone or email vouches for nothing")
        #expect(try await world.pool.send("SISMEMBER", world.keys.knownContacts, "1:40").integer == 1)
    }

    @Test func aBlobStoreDownStopsTheRunAndTheNextRunFindsWhatWasLeft() async throws {
        let world = try await World()
        try await world.seedBoth()
        let closedPort = try ClosedPort()
        defer { withExtendedLifetime(closedPort) {} }
        let closed = try BlobStore(
            location: "s3://media/switchboard",
            s3: S3Settings(endpoint: "http://127.0.0.1:\(closedPort.port)", accessKeyID: "AK", secretAccessKey: "sk"))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let down = PersonalData(
            pool: world.pool, keys: world.keys, account: 1, qdrant: world.services.qdrant, chatwoot: world.services.chatwoot,
            blobs: closed, mirror: world.mirror, queues: StageGraph.queues)
        let stopped = await down.run(PrivacyRequest(phone: Self.anaPhone, forget: true, requestedBy: "test"), logger: logger)
        #expect(stopped.failed?.hasPrefix("the blob store:") == true, "\(stopped.failed ?? "")")
        #expect(Self.place(stopped, "jobs waiting")?.removed == 1, "what was removed before the failure is reported")
        #expect(Self.place(stopped, "knowledge points") == nil, "nothing after the failure was touched")
        let audit = StreamEntry.list(try await world.pool.send("XRANGE", world.keys.audit, "-", "+")).map(\.fieldMap)
        #expect(audit.last?["action"] == "privacy.forget.incomplete")
        // The store back: the next run finds the recording through the call's point, still there.
        let again = await world.run(PrivacyRequest(phone: Self.anaPhone, forget: true, requestedBy: "test"))
        #expect(again.complete && Self.place(again, "blobs")?.removed == 3)
        #expect(
            try await world.trail(phone: Self.anaPhone, reservation: "R-ANA", conversation: 21, call: 9001)
                == ["points": 0, "reservation": 0, "blobs": 0, "guest": 0, "trial": 0])
    }

    @Test func aContactDeletedInChatwootIsForgottenByTheDailyJob() async throws {
        let world = try await World()
        try await world.seedBoth()
        // Chatwoot deleted Bob (his conversations with him): only Switchboard's record knows him now.
        world.chatwoot.contacts.withLock { $0.removeAll { $0.id == 8 } }
        world.chatwoot.conversations.withLock { _ = $0.removeValue(forKey: 22) }
        let found = await world.run(PrivacyRequest(contact: 8, requestedBy: "test"))
        #expect(found.chatwootContacts.isEmpty)
        #expect(Self.place(found, "knowledge points")?.held == 2, "found through the contact's record: \(found.places)")
        try await world.broker.add(Envelope(kind: DeletedContacts.kind, maxAttempts: 1, payload: "{}"), to: PrivacyJobs.queue)
        try await FlowRun.untilIdle([PrivacyJobs.queue], services: world.services, broker: world.broker, pool: world.pool)
        #expect(
            try await world.trail(phone: Self.bobPhone, reservation: "R-BOB", conversation: 22, call: 9002)
                == ["points": 0, "reservation": 0, "blobs": 0, "guest": 0, "trial": 0])
        #expect(try await world.trail(phone: Self.anaPhone, reservation: "R-ANA", conversation: 21, call: 9001)["points"] == 2)
        let audit = StreamEntry.list(try await world.pool.send("XRANGE", world.keys.audit, "-", "+")).map(\.fieldMap)
            .filter { $0["action"] == "privacy.forget" }
        #expect(audit.map { $0["who"] } == ["privacy.contacts"])
        #expect(audit.first?["target"]?.hasPrefix(PrivacyRequest(contact: 8, requestedBy: "").hashed) == true)
    }

    @Test func aPersonWithThousandsOfJobsIsReadInPagesAndReportedInFull() async throws {
        let world = try await World()
        let message = ChatMessage(
            accountID: 1, conversationID: 21, inboxID: 1, messageID: 1, content: "again", senderID: 7, senderName: "Ana")
        let envelopes = try (0..<2_500).map { _ in try Flows.chat.request(message, dedupe: nil).envelope() }
        try await world.broker.add(envelopes, to: Flows.chat.queue)
        try await KnownContacts.record(pool: world.pool, keys: world.keys, account: 1, contact: 7, identities: [], conversation: 21)
        let report = await world.run(PrivacyRequest(contact: 7, requestedBy: "test"))
        let waiting = try #require(Self.place(report, "jobs waiting"))
        #expect(waiting.held == 2_500 && waiting.items.count == PlaceReport.shown)
        let forgot = await world.run(PrivacyRequest(contact: 7, forget: true, requestedBy: "test"))
        #expect(Self.place(forgot, "jobs waiting")?.removed == 2_500)
        #expect(try await world.pool.send("XLEN", world.keys.stream(Flows.chat.queue)).integer == 0)
        let nothing = await world.run(PrivacyRequest(phone: "+1 555 0100 999", requestedBy: "test"))
        #expect(nothing.complete && nothing.held == Self.place(nothing, "attachments mirror")?.held ?? 0)
    }

    @Test func identifiersAreCheckedBeforeAnythingIsAsked() {
        #expect(PrivacyRequest(requestedBy: "t").problem != nil, "nobody named")
        #expect(PrivacyRequest(phone: "+33", requestedBy: "t").problem?.contains("not a phone number") == true)
        #expect(PrivacyRequest(phone: "1", email: "a@b", requestedBy: "t").problem?.contains("exactly one") == true)
        #expect(PrivacyRequest(email: "not an email", requestedBy: "t").problem?.contains("not an email") == true)
        #expect(PrivacyRequest(contact: -3, requestedBy: "t").problem != nil)
        #expect(PrivacyRequest(contact: 3, requestedBy: "t", waitSeconds: 99_999).problem != nil)
        #expect(PrivacyRequest(phone: "+33 6 11 11 11 11", requestedBy: "t").key == "phone:33611111111")
        #expect(PrivacyRequest(email: " Ana@Example.COM", requestedBy: "t").masked == "email a…@example.com")
        let hashed = PrivacyRequest(phone: "06 11", requestedBy: "t").hashed
        #expect(hashed.hasPrefix("sha256:") && hashed.count == 23)
    }
}

/// What the operator says about how long each kind of data is kept, applied by the daily job.
@Suite(.enabled(if: LocalQdrant.available)) struct RetentionTests {
    @Test func eachKindGoesWhenItsTimeIsUpAndNotBefore() async throws {
        let server = try await RedisServer()
        let pool = RedisPool(endpoint: server.endpoint, size: 2)
        let keys = Keys(prefix: "retention")
        let qdrantServer = try await LocalQdrant()
        let qdrant = QdrantClient(baseURL: qdrantServer.url, apiKey: qdrantServer.apiKey, collection: "knowledge", http: HTTPClient())
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("retention-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let blobs = try BlobStore(location: "file://" + folder.path)
        let now = Date(timeIntervalSince1970: 1_796_600_000)  // 2026-12-06
        let day = 86_400.0
        // Calls of 100 and 10 days ago, stays that ended 70 and 5 days ago.
        try await qdrant.ensureCollection(vectorSize: 3)
        func point(_ id: String, _ payload: [String: JSONValue]) -> QdrantClient.Point {
            var fields = payload
            fields["account_id"] = .integer(1)
            return QdrantClient.Point(id: QdrantClient.pointID(for: id), vector: [1, 0, 0], payload: fields)
        }
        try await qdrant.upsert([
            point("old-call", ["source": .string("call"), "started_at": .integer(Int(now.timeIntervalSince1970 - 100 * day))]),
            point("new-call", ["source": .string("call"), "started_at": .integer(Int(now.timeIntervalSince1970 - 10 * day))]),
            point("old-stay", ["source": .string("booking"), "check_out": .string("2026-09-27")]),
            point("new-stay", ["source": .string("booking"), "check_out": .string("2026-12-01T10:00:00Z")]),
            point("document", ["source_id": .string("doc:manual.md")]),
        ])
        let index = ReservationIndex(pool: pool, keys: keys)
        for (id, out) in [("R-OLD", "2026-09-27"), ("R-NEW", "2026-12-01")] {
            var change = BookingChange(event: "reservation.updated", reservationID: id)
            change.checkOut = out
            change.guestPhone = "+33 6 00 00 00 0\(id.count)"
            try await index.record(change)
        }
        // Blobs: a recording and a voice message of 100 days, a voice message of 40, and a recording of 40.
        for (path, age) in [
            ("calls/1-recording.mp3", 100.0), ("voice/2026/08/28/1-2-a.ogg", 100), ("answers/1-2-3.ogg", 40), ("calls/2-recording.mp3", 40),
        ] {
            let file = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("audio".utf8).write(to: file)
            try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-age * day)], ofItemAtPath: file.path)
        }
        // History: one entry two days old, one new; dead letters: one 40 days old, one new.
        let stamp = { (age: Double) in "\(UInt64((now.timeIntervalSince1970 - age * day) * 1000))-0" }
        for age in [2.0, 0.01] {
            try await pool.send(
                RedisCommand("XADD", [keys.history("retrieve"), stamp(age), "id", "j\(age)", "kind", "chat.retrieve", "outcome", "done"]))
        }
        for age in [40.0, 1] {
            let fields = [
                "id", "d\(age)", "kind", "chat.retrieve", "payload", #"{"content":"Ana's message"}"#, "error", "model down", "queue",
                "retrieve",
            ]
            try await pool.send(RedisCommand("XADD", [keys.dead("retrieve"), stamp(age)] + fields))
        }
        let sweep = RetentionSweep.Sweep(
            pool: pool, keys: keys, account: 1, qdrant: qdrant, blobs: blobs, settings: .defaults, queues: ["retrieve"],
            today: "2026-12-06", now: now)

        let look = await sweep.run(dryRun: true)
        #expect(look.failed == nil)
        let due = Dictionary(look.rows.map { ($0.what, $0.due) }, uniquingKeysWith: +)
        #expect(due["call transcripts (knowledge points)"] == 1)
        #expect(due["booking facts after check-out (knowledge points, triage's index)"] == 1)
        #expect(due["call recordings (blobs)"] == 1 && due["voice messages and spoken answers (blobs)"] == 2)
        #expect(due["settled attempts (each queue's history)"] == 1)
        #expect(due["dead letters' payloads (the letters stay, redacted)"] == 1)
        #expect(look.rows.first?.oldest == "2026-08-28", "the oldest call held")
        #expect(look.rows.allSatisfy { $0.removed == 0 })
        #expect(try await qdrant.points(QdrantFilter()).count == 5, "a look removes nothing")

        let done = await sweep.run(dryRun: false)
        #expect(done.failed == nil)
        let left = try await qdrant.points(QdrantFilter()).map { $0.payload ?? [:] }
        #expect(left.count == 3 && !left.contains { $0["started_at"]?.integer == Int(now.timeIntervalSince1970 - 100 * day) })
        #expect(left.contains { $0["source_id"]?.string == "doc:manual.md" }, "the property's documents are no one's data")
        let old = try await index.reservation("R-OLD")
        let kept = try await index.reservation("R-NEW")
        #expect(old == nil && kept != nil)
        var paths: [String] = []
        try await blobs.forEachBlob { paths += $0.map(\.path) }
        #expect(paths == ["calls/2-recording.mp3"], "voice after 30 days, recordings after 90: \(paths)")
        #expect(try await pool.send("XLEN", keys.history("retrieve")).integer == 1)
        let letters = StreamEntry.list(try await pool.send("XRANGE", keys.dead("retrieve"), "-", "+")).map(\.fieldMap)
        #expect(letters.count == 2)
        #expect(letters.filter { $0["payload"] == "{}" && $0["redacted_at"] != nil && $0["error"] == "model down" }.count == 1)
        let again = await sweep.run(dryRun: false)
        #expect(again.rows.allSatisfy { $0.removed == 0 }, "run twice, the second removes nothing")
    }

    @Test func settingsAreDaysOrHoursAndNonsenseIsNamed() throws {
        let read = { (values: [String: String]) in try RetentionSettings.from { values[$0] } }
        #expect(try read([:]) == .defaults)
        let set = try read(["RETENTION_CALLS": "7d", "RETENTION_HISTORY": "12h", "PRIVACY_FORGET_DELETED_CONTACTS": "1"])
        #expect(set.calls == .seconds(7 * 86_400) && set.history == .seconds(12 * 3_600) && set.forgetDeletedContacts)
        for (name, value) in [
            ("RETENTION_CALLS", "forever"), ("RETENTION_VOICE", "0d"), ("RETENTION_DEAD", "30m"), ("RETENTION_BOOKINGS", "99999d"),
            ("RETENTION_HISTORY", "-1d"), ("PRIVACY_FORGET_DELETED_CONTACTS", "yes"),
        ] {
            #expect(throws: ConfigurationError.self, "\(name)=\(value)") { try read([name: value]) }
            #expect((try? read([name: value])) == nil)
            do { _ = try read([name: value]) } catch let error as ConfigurationError { #expect(error.description.hasPrefix(name)) }
        }
        #expect(RetentionSettings.text(.seconds(90 * 86_400)) == "90d" && RetentionSettings.text(.seconds(7_200)) == "2h")
    }
}
