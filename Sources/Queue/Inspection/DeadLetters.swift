import Foundation
import Redis

/// The operator's view of the dead letters of every queue: list, find, retry, drop, export and
/// import, the library behind `switchboard dead` (the tests use it the same way).
///
/// Listing pages through the dead-letter streams a thousand entries at a time, newest first, and
/// stops as soon as it has enough (or reaches letters older than `since`), so a million letters
/// never sit in memory. Retrying is atomic per letter: the letter leaves the dead-letter stream in
/// the step that puts it back on its queue, so two operators retrying at once retry it once.
public struct DeadLetters: Sendable {
    public let broker: Broker
    static let pageSize = 1000

    public init(broker: Broker) {
        self.broker = broker
    }

    /// Which letters an action applies to; nil fields match everything.
    public struct Filter: Sendable {
        public var queue: String?
        public var kind: String?
        /// A case-insensitive substring of the last error.
        public var error: String?
        /// Only letters buried at or after this time (unix ms).
        public var since: UInt64?

        public init(queue: String? = nil, kind: String? = nil, error: String? = nil, since: UInt64? = nil) {
            self.queue = queue
            self.kind = kind
            self.error = error
            self.since = since
        }

        func matches(_ item: Item) -> Bool {
            if let kind, item.kind != kind { return false }
            if let error, !item.error.localizedCaseInsensitiveContains(error) { return false }
            if let since, item.buriedAt < since { return false }
            return true
        }
    }

    /// One dead letter as stored: its queue, its entry in the dead-letter stream and its fields.
    public struct Item: Sendable {
        public var queue: String
        public var entryID: String
        public var fields: [(String, String)]

        public init(queue: String, entryID: String, fields: [(String, String)]) {
            self.queue = queue
            self.entryID = entryID
            self.fields = fields
        }

        public func field(_ name: String) -> String? { fields.last { $0.0 == name }?.1 }
        /// The job id, or the entry id for a letter whose envelope had none.
        public var jobID: String { field("id") ?? entryID }
        public var kind: String { field("kind") ?? "" }
        public var error: String { field("error") ?? "" }
        public var attempts: Int { field("attempt").flatMap(Int.init) ?? 0 }
        /// When it was buried (unix ms): the time part of its entry id.
        public var buriedAt: UInt64 { UInt64(entryID.split(separator: "-").first ?? "") ?? 0 }
        /// The letter decoded, or nil when its envelope is malformed.
        public var letter: DeadLetter? { try? DeadLetter(fields: Dictionary(fields, uniquingKeysWith: { _, last in last })) }
    }

    /// The queues a filter covers: its own, or every queue of the deployment.
    public func queues(_ filter: Filter) async throws -> [String] {
        if let queue = filter.queue { return [queue] }
        return try await Inspector(broker: broker).queueNames()
    }

    /// Up to `limit` matching letters, newest first across the queues, looking at no more than
    /// the newest `scanning` letters of each queue (a page's cost must not grow with the letters).
    public func list(_ filter: Filter, limit: Int, scanning: Int = .max) async throws -> [Item] {
        var found: [Item] = []
        for queue in try await queues(filter) {
            var taken = 0
            _ = try await walkNewest(queue, filter, scanning: scanning) { item in
                found.append(item)
                taken += 1
                return taken < limit
            }
        }
        // Entry ids compared as Redis does: as text, `…-9` would sort after `…-10` of the same ms.
        found.sort { (StreamID.parse($0.entryID) ?? (0, 0)) > (StreamID.parse($1.entryID) ?? (0, 0)) }
        return Array(found.prefix(limit))
    }

    /// Walks `queue`'s letters newest first, a page at a time, handing each one `filter` takes to
    /// `body` until it says stop, the letters reach `filter.since`, or `scanning` were read; true
    /// when it stopped at `scanning` with older letters the filter could still take.
    private func walkNewest(_ queue: String, _ filter: Filter, scanning: Int, _ body: (Item) -> Bool) async throws -> Bool {
        var cursor: String?
        var read = 0
        while true {
            let asked = min(Self.pageSize, scanning - read)
            let page = try await broker.deadPage(queue, newestFirst: true, from: cursor, count: asked)
            read += page.count
            for entry in page {
                let item = Item(queue: queue, entryID: entry.id, fields: entry.fields)
                if let since = filter.since, item.buriedAt < since { return false }
                if filter.matches(item), !body(item) { return false }
            }
            guard page.count == asked, let last = page.last else { return false }
            if read >= scanning {
                guard let older = try await broker.deadPage(queue, newestFirst: true, from: last.id, count: 1).first else { return false }
                return filter.since.map { Item(queue: queue, entryID: older.id, fields: older.fields).buriedAt >= $0 } ?? true
            }
            cursor = last.id
        }
    }

    /// Every matching letter, oldest first, a page at a time.
    public func forEachPage(_ filter: Filter, _ body: ([Item]) async throws -> Void) async throws {
        for queue in try await queues(filter) {
            var cursor: String?
            while true {
                let page = try await broker.deadPage(queue, newestFirst: false, from: cursor, count: Self.pageSize)
                let items = page.map { Item(queue: queue, entryID: $0.id, fields: $0.fields) }.filter(filter.matches)
                if !items.isEmpty { try await body(items) }
                guard page.count == Self.pageSize, let last = page.last else { break }
                cursor = last.id
            }
        }
    }

    /// How many letters match, reading no more than the newest `scanning` letters of each queue:
    /// exact for a filter of queues only (the streams' lengths), otherwise counted over what was
    /// read, `exact` false when there was more.
    public func count(_ filter: Filter, scanning: Int) async throws -> (count: Int, exact: Bool) {
        let queues = try await queues(filter)
        if filter.kind == nil && filter.error == nil && filter.since == nil {
            var total = 0
            for queue in queues { total += try await broker.pool.send("XLEN", broker.keys.dead(queue)).integer ?? 0 }
            return (total, true)
        }
        var total = 0
        var exact = true
        for queue in queues {
            let more = try await walkNewest(queue, filter, scanning: scanning) { _ in
                total += 1
                return true
            }
            if more { exact = false }
        }
        return (total, exact)
    }

    /// How many letters match.
    public func count(_ filter: Filter) async throws -> Int {
        var total = 0
        try await forEachPage(filter) { total += $0.count }
        return total
    }

    /// The letter with this job id (or dead-letter entry id), searching the filter's queues.
    public func find(_ id: String, in filter: Filter = Filter()) async throws -> Item? {
        let looksLikeEntryID = id.contains("-") && id.split(separator: "-").allSatisfy { $0.allSatisfy(\.isNumber) }
        for queue in try await queues(filter) where looksLikeEntryID {
            if let entry = try await broker.deadEntry(queue, entryID: id) {
                return Item(queue: queue, entryID: entry.id, fields: entry.fields)
            }
        }
        var match: Item?
        try await forEachPage(filter) { items in
            if match == nil { match = items.first { $0.jobID == id } }
        }
        return match
    }

    /// The letter of job `id` on `queue`, buried at or after `since` (Unix ms), among the first
    /// `scanning` letters buried from then on: one bounded read, whatever the dead letters hold.
    public func find(_ id: String, queue: String, buriedSince since: UInt64, scanning: Int) async throws -> Item? {
        let page = StreamEntry.list(
            try await broker.pool.send(RedisCommand("XRANGE", [broker.keys.dead(queue), "\(since)-0", "+", "COUNT", String(scanning)])))
        return page.lazy.map { Item(queue: queue, entryID: $0.id, fields: $0.fields) }.first { $0.jobID == id }
    }

    /// Why a letter could not be retried.
    public enum RetryError: Error, Equatable, CustomStringConvertible {
        case malformed(String)

        public var description: String {
            switch self {
            case .malformed(let id):
                "dead letter \(id) has no valid envelope to put back on a queue; inspect it with 'dead show' and drop it"
            }
        }
    }

    /// Puts a letter back on its queue as a new delivery (attempt 1, history kept); false when it
    /// was already retried or dropped by someone else.
    public func retry(_ item: Item) async throws -> Bool {
        guard let letter = item.letter else { throw RetryError.malformed(item.jobID) }
        var envelope = letter.envelope
        envelope.attempt = 1
        return try await broker.revive(item.queue, entryID: item.entryID, as: envelope)
    }

    /// Retries many letters, up to 64 at once (pipelined on one connection); returns how many were
    /// retried and the letters refused as malformed.
    public func retry(_ items: [Item]) async throws -> (retried: Int, refused: [Item]) {
        var retried = 0
        var refused: [Item] = []
        var index = 0
        while index < items.count {
            let slice = items[index..<min(index + 64, items.count)]
            index += slice.count
            try await withThrowingTaskGroup(of: (Bool, Item?).self) { group in
                for item in slice {
                    group.addTask {
                        do { return (try await retry(item), nil) } catch is RetryError { return (false, item) }
                    }
                }
                for try await (done, malformed) in group {
                    if done { retried += 1 }
                    if let malformed { refused.append(malformed) }
                }
            }
        }
        return (retried, refused)
    }

    /// Deletes letters; returns how many were still there.
    public func drop(_ items: [Item]) async throws -> Int {
        var dropped = 0
        for (queue, group) in Dictionary(grouping: items, by: \.queue) {
            dropped += try await broker.dropDead(queue, entryIDs: group.map(\.entryID))
        }
        return dropped
    }

    // MARK: Export and import (JSON lines)

    /// One JSON object: `{"entry_id": …, "fields": {…}, "queue": …}`, fields in stored order (a
    /// repeated field keeps its last value).
    public static func exportLine(_ item: Item) -> String {
        var seen: Set<String> = []
        var pairs: [String] = []
        for (name, value) in item.fields.reversed() where seen.insert(name).inserted {
            pairs.append(JSONString.quote(name) + ":" + JSONString.quote(value))
        }
        return "{\"entry_id\":" + JSONString.quote(item.entryID) + ",\"fields\":{" + pairs.reversed().joined(separator: ",")
            + "},\"queue\":" + JSONString.quote(item.queue) + "}"
    }

    /// Why an import line was refused.
    public struct ImportError: Error, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// What an import did.
    public struct ImportReport: Sendable {
        public var imported = 0
        /// Letters already among their queue's dead letters (the same job, failed at the same
        /// time): importing a file twice adds nothing the second time.
        public var alreadyThere = 0
        public var refused: [ImportError] = []
    }

    /// Adds the letters of exported lines (numbered from 1) to their queues' dead letters, each
    /// once (see `Import`); a queue not in `queues` is refused.
    public func importLines(_ lines: [(number: Int, text: String)], queues: Set<String>) async throws -> ImportReport {
        var importing = Import(letters: self) { _, queue in
            queues.contains(queue)
                ? nil : "queue '\(queue)' is not a queue of this build (queues: \(queues.sorted().joined(separator: ", ")))"
        }
        try await importing.add(lines)
        return importing.report
    }

    /// An import in batches of lines, so a file of any size is read a piece at a time.
    ///
    /// A letter whose job id and last failure time are already in its queue's dead letters is
    /// skipped (importing a file twice adds nothing the second time). A line is refused, by its
    /// number, when it does not parse, when `placement` refuses its kind on its queue (a kind on
    /// a queue where no consumer runs it), when its attempts are not whole numbers from 1, or when
    /// its payload or another field is over the engine's limits.
    public struct Import {
        let letters: DeadLetters
        let placement: (_ kind: String, _ queue: String) -> String?
        private var present: [String: Set<String>] = [:]
        public private(set) var report = ImportReport()

        public init(letters: DeadLetters, placement: @escaping (_ kind: String, _ queue: String) -> String?) {
            self.letters = letters
            self.placement = placement
        }

        /// A line refused before it was parsed (too long to read).
        public mutating func refuse(line: Int, _ reason: String) {
            report.refused.append(ImportError(line: line, reason: reason))
        }

        public mutating func add(_ lines: [(number: Int, text: String)]) async throws {
            for (number, text) in lines {
                let parsed: (queue: String, kind: String, fields: [String])
                do {
                    parsed = try DeadLetters.parseLine(text, number: number)
                    if let problem = placement(parsed.kind, parsed.queue) { throw ImportError(line: number, reason: problem) }
                } catch let error as ImportError {
                    report.refused.append(error)
                    continue
                }
                if present[parsed.queue] == nil {
                    var identities: Set<String> = []
                    try await letters.forEachPage(Filter(queue: parsed.queue)) { items in
                        for item in items { identities.insert(DeadLetters.identity(item.fields)) }
                    }
                    present[parsed.queue] = identities
                }
                let pairs = stride(from: 0, to: parsed.fields.count - 1, by: 2).map { (parsed.fields[$0], parsed.fields[$0 + 1]) }
                guard present[parsed.queue, default: []].insert(DeadLetters.identity(pairs)).inserted else {
                    report.alreadyThere += 1
                    continue
                }
                _ = try await letters.broker.addDead(parsed.queue, fields: parsed.fields)
                report.imported += 1
            }
        }
    }

    /// Which failure of which job a letter records.
    static func identity(_ fields: [(String, String)]) -> String {
        let id = fields.last { $0.0 == "id" }?.1 ?? ""
        let failed = fields.last { $0.0 == "last_failed_at" }?.1 ?? ""
        return id + "\u{1}" + failed
    }

    /// The queue and the stored fields of one exported line.
    static func parseLine(_ text: String, number: Int) throws(ImportError) -> (queue: String, kind: String, fields: [String]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw ImportError(line: number, reason: "not a JSON object")
        }
        guard let queue = object["queue"] as? String, !queue.isEmpty else { throw ImportError(line: number, reason: "missing 'queue'") }
        guard let fields = object["fields"] as? [String: String] else {
            throw ImportError(line: number, reason: "missing 'fields' (an object of strings)")
        }
        guard fields["id"] != nil, let kind = fields["kind"], let payload = fields["payload"] else {
            throw ImportError(line: number, reason: "'fields' lacks id, kind or payload")
        }
        for name in ["attempt", "max_attempts"] {
            if let text = fields[name], !(Int(text).map { $0 >= 1 } ?? false) {
                throw ImportError(line: number, reason: "'\(name)' is \(String(text.prefix(20))), not a whole number from 1")
            }
        }
        if payload.utf8.count > ConsumerConfiguration.defaultMaxPayloadBytes {
            throw ImportError(
                line: number,
                reason: "the payload is \(payload.utf8.count) bytes, over the engine's \(ConsumerConfiguration.defaultMaxPayloadBytes)")
        }
        if let (name, value) = fields.first(where: {
            $0.key != "payload" && $0.value.utf8.count > ConsumerConfiguration.defaultMaxFieldBytes
        }) {
            throw ImportError(
                line: number,
                reason:
                    "field '\(String(name.prefix(40)))' is \(value.utf8.count) bytes, over the engine's \(ConsumerConfiguration.defaultMaxFieldBytes)"
            )
        }
        let order = [
            "id", "kind", "attempt", "max_attempts", "enqueued_at", "payload", "flow", "trace", "dedupe", "history",
            "queue", "error", "first_failed_at", "last_failed_at",
        ]
        var flat: [String] = []
        for name in order { if let value = fields[name] { flat += [name, value] } }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) where !order.contains(name) { flat += [name, value] }
        return (queue, kind, flat)
    }
}
