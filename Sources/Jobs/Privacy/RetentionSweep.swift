import Blobs
import Foundation
import Logging
import Queue
import Redis
import Services

/// `privacy.retention` (queue `privacy`, the scheduler's `retention` entry, daily): removes what
/// has been kept longer than the operator says (`RetentionSettings`) — call transcripts and
/// recordings, booking facts (after check-out), voice messages and spoken answers, history — and
/// strips dead letters past their time of their payloads. With `dry_run` it only says, per kind,
/// the setting, the oldest item held and how many are due: what `switchboard privacy retention`
/// shows. Every pass reads in pages; the last report is kept (`{p}:privacy:retention`).
public enum RetentionSweep {
    public static let kind = "privacy.retention"
    static let retry = RetryPolicy.exponentialJitter(maxAttempts: 3, base: .seconds(60), cap: .seconds(600))

    struct Request: Codable, Sendable {
        var dryRun: Bool?
        /// Where to keep this run's report as well (a command waiting for it).
        var id: String?
        enum CodingKeys: String, CodingKey {
            case dryRun = "dry_run"
            case id
        }
    }

    /// One kind of data: its setting, the oldest item held, how many are past their time and how many went.
    public struct Row: Codable, Sendable, Equatable {
        public var setting: String
        public var kept: String
        public var what: String
        public var oldest: String?
        public var due: Int
        public var removed: Int
    }

    /// One run: a row per kind, whether it only looked, and where it stopped if it did.
    public struct Report: Codable, Sendable, Equatable {
        public var dryRun: Bool
        public var rows: [Row]
        public var forgetDeletedContacts: Bool
        public var failed: String?
        public var finishedAt: UInt64
        enum CodingKeys: String, CodingKey {
            case rows, failed
            case dryRun = "dry_run"
            case forgetDeletedContacts = "forget_deleted_contacts"
            case finishedAt = "finished_at"
        }
    }

    static func definition(_ services: FlowServices?, blobs: BlobStore?) -> JobDefinition {
        JobDefinition(
            kind: kind, queue: PrivacyJobs.queue, retry: retry, timeout: .seconds(3_600), restartable: true, payload: Request.self
        ) {
            request, context in
            guard let services, let account = services.account else { throw JobFailure.permanent("retention needs CHATWOOT_ACCOUNT_ID") }
            let queues = try await PrivacyJobs.knownQueues(context.redis, services.keys)
            let sweep = Sweep(
                pool: context.redis, keys: services.keys, account: account, qdrant: services.qdrant, blobs: blobs,
                settings: services.retention, queues: queues, today: services.today())
            let report = await sweep.run(dryRun: request.dryRun ?? false)
            let text = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
            if !report.dryRun { try await context.redis.send("SET", services.keys.retentionReport, text) }
            if let id = request.id {
                try await context.redis.send("SET", services.keys.privacyReport(id), text, "EX", String(PrivacyJobs.kept))
            }
            context.logger.info(
                "retention", metadata: ["dry_run": "\(report.dryRun)", "removed": "\(report.rows.reduce(0) { $0 + $1.removed })"])
            if let failed = report.failed, !report.dryRun { throw JobFailure.retryable("retention stopped at \(failed)") }
            return .done
        }
    }

    /// The last report of a retention run that removed (nil before the first).
    public static func lastReport(pool: RedisPool, keys: Keys) async throws -> Report? {
        guard let text = try await pool.send("GET", keys.retentionReport).string else { return nil }
        return try JSONDecoder().decode(Report.self, from: Data(text.utf8))
    }

    /// The report of a dry run asked with `id`; nil while it runs.
    public static func report(_ id: String, pool: RedisPool, keys: Keys) async throws -> Report? {
        guard let text = try await pool.send("GET", keys.privacyReport(id)).string else { return nil }
        return try JSONDecoder().decode(Report.self, from: Data(text.utf8))
    }

    /// Asks for a dry run whose report is kept under `id`.
    public static func askDryRun(id: String, broker: Broker) async throws {
        let payload = String(decoding: try JSONEncoder().encode(Request(dryRun: true, id: id)), as: UTF8.self)
        _ = try await broker.add(Envelope(kind: kind, maxAttempts: retry.maxAttempts, payload: payload), to: PrivacyJobs.queue)
    }

    struct Sweep {
        let pool: RedisPool
        let keys: Keys
        let account: Int
        let qdrant: QdrantClient
        let blobs: BlobStore?
        let settings: RetentionSettings
        let queues: [String]
        let today: String
        var now = Date()

        func cutoff(_ duration: Duration) -> Date { now.addingTimeInterval(-Double(duration.components.seconds)) }

        func run(dryRun: Bool) async -> Report {
            var report = Report(dryRun: dryRun, rows: [], forgetDeletedContacts: settings.forgetDeletedContacts, failed: nil, finishedAt: 0)
            let steps: [(String, () async throws -> [Row])] = [
                ("Qdrant (calls)", { [try await calls(dryRun)] }),
                ("Qdrant (bookings)", { [try await bookings(dryRun)] }),
                ("the blob store", { try await audio(dryRun) }),
                ("Redis (history)", { [try await history(dryRun)] }),
                ("Redis (dead letters)", { [try await dead(dryRun)] }),
            ]
            for (place, step) in steps {
                do {
                    report.rows += try await step()
                } catch {
                    report.failed = "\(place): \(error)"
                    break
                }
            }
            report.finishedAt = WallClock.unixMilliseconds()
            return report
        }

        func row(_ setting: String, _ what: String) -> Row {
            Row(
                setting: setting, kept: RetentionSettings.text(settings.value(setting) ?? .zero), what: what, oldest: nil, due: 0,
                removed: 0)
        }

        func calls(_ dryRun: Bool) async throws -> Row {
            var row = row("RETENTION_CALLS", "call transcripts (knowledge points)")
            let bound = Int(cutoff(settings.calls).timeIntervalSince1970)
            var oldest: Int?
            var due: [JSONValue] = []
            let filter = QdrantFilter(must: [.equals("account_id", .integer(account)), .equals("source", .string("call"))])
            try await qdrant.scroll(filter, fields: ["started_at"]) { page in
                for point in page {
                    guard let started = point.payload?["started_at"]?.integer else { continue }
                    oldest = min(oldest ?? started, started)
                    if started < bound { due.append(point.id) }
                }
            }
            row.oldest = oldest.map { HeldItem.day(Date(timeIntervalSince1970: Double($0))) }
            row.due = due.count
            if !dryRun, !due.isEmpty {
                try await qdrant.delete(ids: due)
                row.removed = due.count
            }
            return row
        }

        func bookings(_ dryRun: Bool) async throws -> Row {
            var row = row("RETENTION_BOOKINGS", "booking facts after check-out (knowledge points, triage's index)")
            let days = Int(settings.bookings.components.seconds / 86_400)
            let bound = StayPhase.day(today, plus: -max(days, 0)) ?? today
            var oldest: String?
            var due: [JSONValue] = []
            let filter = QdrantFilter(must: [.equals("account_id", .integer(account)), .equals("source", .string("booking"))])
            try await qdrant.scroll(filter, fields: ["check_out"]) { page in
                for point in page {
                    guard let out = point.payload?["check_out"]?.string.flatMap({ StayPhase.day($0) }) else { continue }
                    oldest = min(oldest ?? out, out)
                    if out < bound { due.append(point.id) }
                }
            }
            row.oldest = oldest
            row.due = due.count
            let index = ReservationIndex(pool: pool, keys: keys)
            if !dryRun {
                if !due.isEmpty { try await qdrant.delete(ids: due) }
                row.removed = due.count + (try await index.sweep(today: today, keepDays: days))
            }
            return row
        }

        func audio(_ dryRun: Bool) async throws -> [Row] {
            var calls = row("RETENTION_CALLS", "call recordings (blobs)")
            var voice = row("RETENTION_VOICE", "voice messages and spoken answers (blobs)")
            guard let blobs else {
                calls.what += " — not seen: this consumer has no BLOB_STORE"
                voice.what += " — not seen: this consumer has no BLOB_STORE"
                return [calls, voice]
            }
            let callsBound = cutoff(settings.calls)
            let voiceBound = cutoff(settings.voice)
            var oldestCall: Date?
            var oldestVoice: Date?
            var doomed: [String] = []
            try await blobs.forEachBlob { page in
                for blob in page {
                    if blob.path.hasPrefix("calls/") {
                        oldestCall = min(oldestCall ?? blob.modified, blob.modified)
                        if blob.modified < callsBound {
                            calls.due += 1
                            doomed.append(blob.reference)
                        }
                    } else {
                        // Voice messages, spoken answers, and anything else audio a flow left here.
                        oldestVoice = min(oldestVoice ?? blob.modified, blob.modified)
                        if blob.modified < voiceBound {
                            voice.due += 1
                            doomed.append(blob.reference)
                        }
                    }
                }
            }
            calls.oldest = oldestCall.map(HeldItem.day)
            voice.oldest = oldestVoice.map(HeldItem.day)
            if !dryRun {
                for reference in doomed { try await blobs.delete(reference) }
                calls.removed = calls.due
                voice.removed = voice.due
            }
            return [calls, voice]
        }

        func history(_ dryRun: Bool) async throws -> Row {
            var row = row("RETENTION_HISTORY", "settled attempts (each queue's history)")
            let bound = UInt64(cutoff(settings.history).timeIntervalSince1970 * 1000)
            var oldest: UInt64?
            for queue in queues {
                let key = keys.history(queue)
                if let first = StreamEntry.list(try await pool.send("XRANGE", key, "-", "+", "COUNT", "1")).first,
                    let at = StreamID.parse(first.id)?.0
                {
                    oldest = min(oldest ?? at, at)
                }
                if dryRun {
                    row.due += StreamEntry.list(try await pool.send("XRANGE", key, "-", "(\(bound)-0", "COUNT", "10000")).count
                } else {
                    let trimmed = try await pool.send("XTRIM", key, "MINID", "\(bound)-0").integer ?? 0
                    row.due += trimmed
                    row.removed += trimmed
                }
            }
            row.oldest = oldest.map { HeldItem.day(Date(timeIntervalSince1970: Double($0) / 1000)) }
            return row
        }

        func dead(_ dryRun: Bool) async throws -> Row {
            var row = row("RETENTION_DEAD", "dead letters' payloads (the letters stay, redacted)")
            let bound = UInt64(cutoff(settings.dead).timeIntervalSince1970 * 1000)
            var oldest: UInt64?
            for queue in queues {
                let key = keys.dead(queue)
                // A letter redacted goes to the stream's end, past the bound: it is not read again.
                try await HeldJobs.forEachPage(pool, key, upTo: "(\(bound)-0") { entries in
                    for entry in entries {
                        let fields = entry.fieldMap
                        guard fields["redacted_at"] == nil, fields["payload"] != "{}" else { continue }
                        if let at = StreamID.parse(entry.id)?.0 { oldest = min(oldest ?? at, at) }
                        row.due += 1
                        guard !dryRun else { continue }
                        let letter = HeldJobs.redactedLetter(
                            fields, queue: fields["queue"] ?? queue, error: fields["error"] ?? "", now: WallClock.unixMilliseconds())
                        let reply = try await HeldJobs.replaceEntry.run(on: pool.client, keys: [key], arguments: [entry.id] + letter)
                        if reply.integer == 1 { row.removed += 1 }
                    }
                }
            }
            row.oldest = oldest.map { HeldItem.day(Date(timeIntervalSince1970: Double($0) / 1000)) }
            return row
        }
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// The last retention run's report (a string).
    public var retentionReport: String { named("privacy:retention") }
}
