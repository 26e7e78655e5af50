import Blobs
import Foundation
import Logging
import Queue
import Redis
import Services

/// Everything Switchboard holds about one person, found and — on request — forgotten, place by
/// place: jobs waiting and running, dead letters and history, knowledge points, reservations,
/// conversation records, blobs and the attachments mirror.
///
/// A forget first stops the person's waiting jobs (dead-lettered, payload redacted), waits a
/// bounded time for their running ones to finish and looks again, then removes the rest, and the
/// contact's record last: a run cut short anywhere is finished by running it again, which then
/// finds nothing where the first run was done. A place that cannot be read or changed stops the
/// run; the report names it and what was already removed.
public struct PersonalData: Sendable {
    let pool: RedisPool
    let keys: Keys
    let account: Int
    let qdrant: QdrantClient
    let chatwoot: ChatwootClient?
    let blobs: BlobStore?
    let mirror: MirrorSettings?
    let queues: [String]

    public init(
        pool: RedisPool, keys: Keys, account: Int, qdrant: QdrantClient, chatwoot: ChatwootClient?, blobs: BlobStore?,
        mirror: MirrorSettings?, queues: [String]
    ) {
        self.pool = pool
        self.keys = keys
        self.account = account
        self.qdrant = qdrant
        self.chatwoot = chatwoot
        self.blobs = blobs
        self.mirror = mirror
        self.queues = queues
    }

    /// Finds (or forgets) what `request` names; never throws: a failure is the report's `failed`.
    public func run(_ request: PrivacyRequest, logger: Logger) async -> PrivacyReport {
        let removing = request.forget && !request.dryRun
        var report = PrivacyReport(subject: request.masked, forgot: removing, dryRun: request.forget && request.dryRun)
        do {
            try await sweep(request, removing: removing, into: &report)
        } catch let failure as PlaceFailure {
            report.failed = failure.description
            logger.error("privacy run stopped", metadata: ["place": "\(failure.place)", "error": "\(failure.error)"])
        } catch {
            report.failed = "\(error)"
        }
        report.finishedAt = WallClock.unixMilliseconds()
        // Who, when, whom (hashed) and how much — never the data; a look too, since it reads a
        // person's data; a forget also when it did not finish.
        let action =
            removing
            ? (report.complete ? "privacy.forget" : "privacy.forget.incomplete") : (report.dryRun ? "privacy.dry-run" : "privacy.find")
        let counts = report.places.filter { removing ? $0.removed > 0 : $0.held > 0 }
            .map { "\($0.place) \(removing ? $0.removed : $0.held)" }.joined(separator: ", ")
        do {
            try await AuditLog(pool: pool, keys: keys).record(
                who: request.requestedBy, role: request.requestedBy == DeletedContacts.kind ? "scheduler" : "operator", action: action,
                target: request.hashed + (counts.isEmpty ? "" : " (\(counts))"), count: removing ? report.removed : report.held)
        } catch {
            report.failed = report.failed ?? "the audit: \(error)"
        }
        return report
    }

    private func sweep(_ request: PrivacyRequest, removing: Bool, into report: inout PrivacyReport) async throws {
        var subject = try await resolve(request, report: &report)
        let jobs = HeldJobs(pool: pool, keys: keys, queues: queues)
        var found = try await at("Redis (jobs)") { try await jobs.sweep(&subject, forget: removing, redact: request.redact) }
        if removing, !found.runningEntries.isEmpty {
            let deadline = ContinuousClock.now + .seconds(request.waitSeconds)
            while try await jobs.stillRunning(found.runningEntries) > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(500))
            }
            // What the finished jobs produced (a next stage, a point, a note's record) is found now.
            let earlier = subject
            subject = try await resolve(request, report: &report)
            subject.flows.formUnion(earlier.flows)
            subject.blobs.formUnion(earlier.blobs)
            let again = try await at("Redis (jobs)") { try await jobs.sweep(&subject, forget: true, redact: request.redact) }
            found.waiting.removed += again.waiting.removed
            found.dead.removed += again.dead.removed
            found.history.removed += again.history.removed
            report.stillRunning = try await jobs.stillRunning(again.runningEntries)
        }
        report.places += [found.waiting, found.running, found.dead, found.history]
        // What links the person to other places goes after those places: blobs are found through
        // the calls their points name and the conversations their records name, so points and
        // records go after blobs — a run stopped in between still finds everything the next time.
        if let blobs {
            report.places.append(try await at("the blob store") { try await HeldBlobs(blobs: blobs).sweep(subject, forget: removing) })
        } else {
            var skipped = PlaceReport("blobs")
            skipped.notes.append("not searched: the consumer that ran this has no BLOB_STORE")
            report.places.append(skipped)
        }
        let records = HeldConversationRecords(pool: pool, keys: keys)
        var conversations = try await at("Redis (conversation records)") { try await records.sweep(subject, forget: removing) }
        report.places.append(conversations)
        let reservations = HeldReservations(pool: pool, keys: keys)
        report.places.append(try await at("Redis (reservations)") { try await reservations.sweep(subject, forget: removing) })
        report.places.append(try await at("Qdrant") { try await HeldKnowledge(qdrant: qdrant).sweep(subject, forget: removing) })
        if let mirror {
            let held = HeldMirror(settings: mirror, pool: pool, keys: keys)
            report.places.append(try await at("the attachments mirror") { try await held.sweep(forget: removing) })
        }
        if removing {
            try await at("Redis (contacts)") { try await records.forgetContacts(subject, into: &conversations) }
            report.places[report.places.firstIndex { $0.place == conversations.place }!] = conversations
        }
    }

    /// The person as far as what links one identifier to the rest says (one step out).
    func resolve(_ request: PrivacyRequest, report: inout PrivacyReport) async throws -> DataSubject {
        var subject = DataSubject(account: account)
        if let phone = request.phone { subject.keys.formUnion(ReservationIndex.contacts(phone: phone, email: nil)) }
        if let email = request.email { subject.keys.formUnion(ReservationIndex.contacts(phone: nil, email: email)) }
        if let contact = request.contact { subject.contacts.insert(contact) }
        if let chatwoot {
            let alive = try await at("Chatwoot") { try await chatwootContacts(chatwoot, request, &subject) }
            report.chatwootContacts = alive.sorted()
        }
        let given = subject
        try await at("Redis (contacts)") {
            try await KnownContacts.forEach(pool: pool, keys: keys, account: account) { page in
                for known in page where given.contacts.contains(known.contact) || !known.keys.isDisjoint(with: given.keys) {
                    subject.contacts.insert(known.contact)
                    subject.keys.formUnion(known.keys)
                    subject.conversations.formUnion(known.conversations)
                }
            }
        }
        let stays = try await at("Redis (reservations)") { try await HeldReservations(pool: pool, keys: keys).matching(subject) }
        for stay in stays {
            subject.reservations.insert(stay.reservationID)
            subject.keys.formUnion(ReservationIndex.contacts(phone: stay.guestPhone, email: stay.guestEmail))
        }
        let records = HeldConversationRecords(pool: pool, keys: keys)
        subject.conversations.formUnion(try await at("Redis (conversation records)") { try await records.verifiedConversations(subject) })
        let links = try await at("Qdrant") { try await HeldKnowledge(qdrant: qdrant).links(subject) }
        subject.calls.formUnion(links.calls)
        subject.reservations.formUnion(links.reservations)
        return subject
    }

    /// The person's contacts Chatwoot still has (and their phone, email and conversations).
    private func chatwootContacts(_ chatwoot: ChatwootClient, _ request: PrivacyRequest, _ subject: inout DataSubject) async throws
        -> Set<Int>
    {
        var alive = Set<Int>()
        if let id = request.contact {
            if let contact = try await chatwoot.contact(account: account, id: id) {
                alive.insert(id)
                subject.keys.formUnion(ReservationIndex.contacts(phone: contact.phoneNumber, email: contact.email))
            }
        } else if let found = try await GuestConversation.contact(chatwoot, account: account, phone: request.phone, email: request.email) {
            alive.insert(found)
            subject.contacts.insert(found)
        }
        for contact in alive {
            subject.conversations.formUnion(try await chatwoot.conversations(account: account, contact: contact).map(\.id))
        }
        return alive
    }

    private func at<T>(_ place: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CancellationError {
            throw error
        } catch let failure as PlaceFailure {
            throw failure
        } catch {
            throw PlaceFailure(place: place, error: error)
        }
    }
}
