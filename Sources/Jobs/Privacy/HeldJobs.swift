import Foundation
import Queue
import Redis

/// A person's work in the queues: jobs waiting (in a stream, not yet delivered, or in the retry
/// set), jobs running (delivered, not yet settled), dead letters, and the history entries of their
/// flows. Every page is read a few hundred entries at a time, so a queue of millions is walked in
/// bounded memory.
///
/// Forgetting: a waiting job is dead-lettered with the reason and its payload redacted, in one
/// script that first checks it is still waiting — never run with half its data gone, never taken
/// from under a consumer that just received it. A running job is left to finish (the sweep waits,
/// then looks again, and removes what it produced). Dead letters are removed (or, with `redact`,
/// kept without their payload); history entries of the person's flows are removed.
struct HeldJobs {
    let pool: RedisPool
    let keys: Keys
    let queues: [String]
    static let page = 500
    static let reason = "forgotten on request (privacy forget): the person's data was removed, so the job was not run"

    /// The job ids and flows found, and how many of them were running.
    struct Found {
        var waiting = PlaceReport("jobs waiting")
        var running = PlaceReport("jobs running")
        var dead = PlaceReport("dead letters")
        var history = PlaceReport("history")
        var runningEntries: [(queue: String, entry: String)] = []
    }

    /// Reads (and, when `forget`, deals with) the person's jobs; adds their flows and blob references to `subject`.
    func sweep(_ subject: inout DataSubject, forget: Bool, redact: Bool) async throws -> Found {
        var found = Found()
        for queue in queues {
            let lastDelivered = try await lastDeliveredID(queue).flatMap(StreamID.parse)
            try await forEachPage(keys.stream(queue)) { entries in
                for entry in entries {
                    let fields = entry.fieldMap
                    guard let payload = fields["payload"], subject.matches(payload: payload) else { continue }
                    note(fields, into: &subject)
                    let what = "\(fields["kind"] ?? "?") job \(fields["id"] ?? entry.id) on \(queue)"
                    let at = Self.date(ofEntry: entry.id)
                    if let lastDelivered, let id = StreamID.parse(entry.id), id <= lastDelivered {
                        found.running.add(what, at: at)
                        found.runningEntries.append((queue, entry.id))
                    } else {
                        found.waiting.add(what, at: at)
                        if forget, try await buryWaiting(queue, entry: entry) { found.waiting.removed += 1 }
                    }
                }
            }
            try await forEachDelayed(queue) { member, fields in
                guard let payload = fields["payload"], subject.matches(payload: payload) else { return }
                note(fields, into: &subject)
                found.waiting.add("\(fields["kind"] ?? "?") job \(fields["id"] ?? "?") on \(queue), waiting to retry")
                if forget, try await buryDelayed(queue, member: member, fields: fields) { found.waiting.removed += 1 }
            }
            try await forEachPage(keys.dead(queue)) { entries in
                for entry in entries {
                    let fields = entry.fieldMap
                    guard fields["redacted_at"] == nil, let payload = fields["payload"], subject.matches(payload: payload) else { continue }
                    note(fields, into: &subject)
                    found.dead.add("\(fields["kind"] ?? "?") job \(fields["id"] ?? entry.id) on \(queue)", at: Self.date(ofEntry: entry.id))
                    guard forget else { continue }
                    if redact {
                        if try await redactDead(queue, entry: entry) { found.dead.removed += 1 }
                    } else if try await pool.send("XDEL", keys.dead(queue), entry.id).integer == 1 {
                        found.dead.removed += 1
                    }
                }
            }
        }
        if forget && redact { found.dead.notes.append("kept without their payloads (--redact): ids, kinds, errors and times") }
        guard !subject.flows.isEmpty else { return found }
        for queue in queues {
            try await forEachPage(keys.history(queue)) { entries in
                var doomed: [String] = []
                for entry in entries {
                    let fields = entry.fieldMap
                    guard subject.flows.contains(fields["flow"] ?? fields["id"] ?? "") || subject.flows.contains(fields["id"] ?? "") else {
                        continue
                    }
                    found.history.add(
                        "\(fields["kind"] ?? "?") \(fields["outcome"] ?? "?") (job \(fields["id"] ?? "?"))",
                        at: Self.date(ofEntry: entry.id))
                    doomed.append(entry.id)
                }
                if forget, !doomed.isEmpty {
                    found.history.removed += try await pool.send(RedisCommand("XDEL", [keys.history(queue)] + doomed)).integer ?? 0
                }
            }
        }
        return found
    }

    /// Whether these entries of running jobs are still unsettled (delivered and not acknowledged).
    func stillRunning(_ entries: [(queue: String, entry: String)]) async throws -> Int {
        var running = 0
        for (queue, entry) in entries {
            let reply = try await pool.send("XPENDING", keys.stream(queue), Keys.group, entry, entry, "1")
            if !(reply.array ?? []).isEmpty { running += 1 }
        }
        return running
    }

    private func note(_ fields: [String: String], into subject: inout DataSubject) {
        if let id = fields["id"] { subject.flows.insert(id) }
        if let flow = fields["flow"] { subject.flows.insert(flow) }
        if let payload = fields["payload"] { subject.blobs.formUnion(DataSubject.blobReferences(in: payload)) }
    }

    private func forEachPage(_ key: String, _ body: ([StreamEntry]) async throws -> Void) async throws {
        try await Self.forEachPage(pool, key, body)
    }

    /// Hands the entries of stream `key` up to `end` (inclusive, or `(id` exclusive) to `body`, oldest
    /// first, `page` at a time.
    static func forEachPage(_ pool: RedisPool, _ key: String, upTo end: String = "+", _ body: ([StreamEntry]) async throws -> Void)
        async throws
    {
        var cursor = "-"
        while true {
            let entries = StreamEntry.list(try await pool.send("XRANGE", key, cursor, end, "COUNT", String(Self.page)))
            guard !entries.isEmpty else { return }
            try await body(entries)
            guard entries.count == Self.page, let last = entries.last else { return }
            cursor = "(" + last.id
        }
    }

    private func forEachDelayed(_ queue: String, _ body: (String, [String: String]) async throws -> Void) async throws {
        var start = 0
        while true {
            let members = (try await pool.send("ZRANGE", keys.delayed(queue), String(start), String(start + Self.page - 1)).array ?? [])
                .compactMap(\.string)
            for member in members {
                guard let flat = JSONString.parseStringArray(member), flat.count % 2 == 0 else { continue }
                var fields: [String: String] = [:]
                for index in stride(from: 0, to: flat.count, by: 2) { fields[flat[index]] = flat[index + 1] }
                try await body(member, fields)
            }
            guard members.count == Self.page else { return }
            start += Self.page
        }
    }

    private func lastDeliveredID(_ queue: String) async throws -> String? {
        // A queue never used has no stream, and XINFO answers an error for it.
        guard try await pool.send("EXISTS", keys.stream(queue)).integer == 1 else { return nil }
        let reply = try await pool.send("XINFO", "GROUPS", keys.stream(queue))
        for group in reply.array ?? [] {
            let fields = Dictionary(group.pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
            if fields["name"]?.string == Keys.group { return fields["last-delivered-id"]?.string }
        }
        return nil
    }

    /// The letter a forgotten job leaves: its envelope's ids, kind and times, no payload.
    static func redactedLetter(_ fields: [String: String], queue: String, error: String, now: UInt64) -> [String] {
        var letter: [String] = []
        for name in ["id", "kind", "attempt", "max_attempts", "enqueued_at", "flow", "dedupe"] {
            if let value = fields[name] { letter += [name, value] }
        }
        letter += ["payload", "{}", "queue", queue, "error", error]
        letter += ["first_failed_at", fields["first_failed_at"] ?? String(now), "last_failed_at", fields["last_failed_at"] ?? String(now)]
        return letter + ["redacted_at", String(now)]
    }

    private func buryWaiting(_ queue: String, entry: StreamEntry) async throws -> Bool {
        let letter = Self.redactedLetter(entry.fieldMap, queue: queue, error: Self.reason, now: WallClock.unixMilliseconds())
        let reply = try await Self.buryIfWaiting.run(
            on: pool.client, keys: [keys.stream(queue), keys.dead(queue)], arguments: [entry.id, Keys.group] + letter)
        return reply.integer == 1
    }

    private func buryDelayed(_ queue: String, member: String, fields: [String: String]) async throws -> Bool {
        let letter = Self.redactedLetter(fields, queue: queue, error: Self.reason, now: WallClock.unixMilliseconds())
        let reply = try await Self.buryIfDelayed.run(
            on: pool.client, keys: [keys.delayed(queue), keys.dead(queue)], arguments: [member] + letter)
        return reply.integer == 1
    }

    private func redactDead(_ queue: String, entry: StreamEntry) async throws -> Bool {
        let fields = entry.fieldMap
        let letter = Self.redactedLetter(fields, queue: queue, error: fields["error"] ?? "", now: WallClock.unixMilliseconds())
        let reply = try await Self.replaceEntry.run(on: pool.client, keys: [keys.dead(queue)], arguments: [entry.id] + letter)
        return reply.integer == 1
    }

    /// `KEYS[1]` stream, `KEYS[2]` dead letters; `ARGV[1]` entry, `ARGV[2]` group, the rest the
    /// letter's fields. Buries the entry only if no consumer has received it (after the group's
    /// last-delivered id) and it is still there.
    static let buryIfWaiting = RedisScript(
        name: "privacy-bury-waiting",
        source: """
            local function parse(id)
                local ms, seq = string.match(id, '^(%d+)-(%d+)$')
                return tonumber(ms) or 0, tonumber(seq) or 0
            end
            local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
            if ok then
                for _, group in ipairs(groups) do
                    local name, last
                    for i = 1, #group, 2 do
                        if group[i] == 'name' then name = group[i + 1] end
                        if group[i] == 'last-delivered-id' then last = group[i + 1] end
                    end
                    if name == ARGV[2] and last then
                        local ems, eseq = parse(ARGV[1])
                        local lms, lseq = parse(last)
                        if ems < lms or (ems == lms and eseq <= lseq) then return 0 end
                    end
                end
            end
            if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
            redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
            return 1
            """)

    /// `KEYS[1]` retry set, `KEYS[2]` dead letters; `ARGV[1]` the member, the rest the letter.
    static let buryIfDelayed = RedisScript(
        name: "privacy-bury-delayed",
        source: """
            if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
            redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
            return 1
            """)

    /// `KEYS[1]` a stream; `ARGV[1]` an entry, the rest new fields: the entry replaced (at the end
    /// of the stream) if it is still there.
    static let replaceEntry = RedisScript(
        name: "privacy-replace-entry",
        source: """
            if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
            redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
            return 1
            """)

    static func date(ofEntry id: String) -> Date? {
        StreamID.parse(id).map { Date(timeIntervalSince1970: Double($0.0) / 1000) }
    }
}
