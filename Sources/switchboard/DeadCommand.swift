import ArgumentParser
import Foundation
import Jobs
import Queue
import Redis

struct DeadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead",
        abstract: "Inspect, retry, drop, export and import dead letters.",
        discussion: """
            A dead letter is a job that will not be tried again: its whole envelope, the queue, attempts, \
            first and last failure time and the last error. IDs are job ids (as 'dead list' prints them) or \
            dead-letter entry ids.
            """,
        subcommands: [
            DeadListCommand.self, DeadShowCommand.self, DeadRetryCommand.self, DeadDropCommand.self,
            DeadExportCommand.self, DeadImportCommand.self,
        ]
    )
}

/// The filters every `dead` subcommand that selects letters takes.
struct DeadFilterOptions: ParsableArguments {
    @Option(help: "Only this queue.")
    var queue: String?

    @Option(help: "Only this job kind.")
    var kind: String?

    @Option(help: ArgumentHelp("Only letters whose last error contains this text (case-insensitive).", valueName: "text"))
    var error: String?

    @Option(help: ArgumentHelp("Only letters dead-lettered within this age: 90s, 30m, 2h, 7d.", valueName: "age"))
    var since: String?

    func validate() throws {
        if let since, Age.milliseconds(since) == nil {
            throw ValidationError("--since takes an age such as 90s, 30m, 2h or 7d, got '\(since)'")
        }
    }

    var filter: DeadLetters.Filter {
        DeadLetters.Filter(
            queue: queue, kind: kind, error: error,
            since: since.flatMap(Age.milliseconds).map { age in
                let now = WallClock.unixMilliseconds()
                return now > age ? now - age : 0
            })
    }

    var isEmpty: Bool { queue == nil && kind == nil && error == nil && since == nil }
}

/// Opens the dead letters of the configured deployment.
extension RedisOptions {
    func deadLetters() throws -> (DeadLetters, RedisPool) {
        let pool = RedisPool(endpoint: try endpoint(), size: 1)
        return (DeadLetters(broker: Broker(pool: pool, keys: Keys(prefix: keyPrefix))), pool)
    }
}

struct DeadListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List dead letters, newest first.")

    @OptionGroup var redis: RedisOptions
    @OptionGroup var filters: DeadFilterOptions

    @Option(help: "At most this many.")
    var limit: Int = 50

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let (dead, pool) = try redis.deadLetters()
        defer { pool.close() }
        let items = try await RedisFailure.exitOnFailure { try await dead.list(filters.filter, limit: limit) }
        guard !items.isEmpty else {
            Terminal.error("no dead letters match")
            throw ExitCode(1)
        }
        if json {
            for item in items { print(DeadLetters.exportLine(item)) }
            return
        }
        let now = Int(WallClock.unixMilliseconds())
        let rows =
            [["ID", "QUEUE", "KIND", "ATTEMPTS", "AGE", "ERROR"]]
            + items.map { item in
                [
                    item.jobID, item.queue, item.kind, String(item.attempts),
                    Terminal.age(milliseconds: now - Int(clamping: item.buriedAt)),
                    item.error.replacingOccurrences(of: "\n", with: " "),
                ]
            }
        let width = Terminal.width
        for line in Table.render(rows).split(separator: "\n") { print(Terminal.cut(String(line), to: width)) }
    }
}

struct DeadShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one dead letter whole: envelope, payload and error history.")

    @OptionGroup var redis: RedisOptions

    @Argument(help: "A job id or dead-letter entry id.")
    var id: String

    @Flag(help: "Print it as one JSON object.")
    var json = false

    func run() async throws {
        let (dead, pool) = try redis.deadLetters()
        defer { pool.close() }
        guard let item = try await RedisFailure.exitOnFailure({ try await dead.find(id) }) else {
            Terminal.error("no dead letter with id \(id)")
            throw ExitCode(1)
        }
        if json {
            print(DeadLetters.exportLine(item))
            return
        }
        print(Self.describe(item), terminator: "")
    }

    static func describe(_ item: DeadLetters.Item) -> String {
        let known = Set([
            "id", "kind", "attempt", "max_attempts", "enqueued_at", "payload", "flow", "history", "queue", "error", "first_failed_at",
            "last_failed_at",
        ])
        func time(_ field: String) -> String {
            item.field(field).flatMap(Double.init).map(Terminal.timestamp) ?? "-"
        }
        func v(_ data: String) -> String { Terminal.visible(data) }
        var text = ""
        text += "id            \(v(item.jobID))\n"
        text += "flow          \(v(item.field("flow") ?? item.jobID))\n"
        text += "entry         \(v(item.entryID)) in \(v(item.queue))\n"
        text += "kind          \(v(item.kind))\n"
        text += "attempts      \(v(item.field("attempt") ?? "?")) of \(v(item.field("max_attempts") ?? "?"))\n"
        text += "enqueued      \(time("enqueued_at"))\n"
        text += "first failed  \(time("first_failed_at"))\n"
        text += "last failed   \(time("last_failed_at"))\n"
        text += "error         \(Terminal.paint(Terminal.visible(item.error, lines: true), .red))\n"
        for (name, value) in item.fields where !known.contains(name) {
            text += "\(v(name).padding(toLength: 14, withPad: " ", startingAt: 0))\(v(value))\n"
        }
        text += "payload\n\(Terminal.visible(Self.pretty(item.field("payload") ?? ""), lines: true))\n"
        if let history = item.letter?.envelope.history, !history.isEmpty {
            text += "history\n"
            for record in history {
                let at = Terminal.timestamp(milliseconds: Double(record.at))
                text += "  attempt \(record.attempt)  \(at)  \(Terminal.visible(record.error, lines: true))\n"
            }
        }
        return text
    }

    static func pretty(_ json: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return "  " + json }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(
            separator: "\n")
    }
}

/// What `retry` and `drop` share: letters by id, or every letter matching the filters with --all.
struct DeadSelection: ParsableArguments {
    @Argument(help: "Job ids or dead-letter entry ids.")
    var ids: [String] = []

    @Flag(help: "Every dead letter matching the filters.")
    var all = false

    @Flag(help: "Do it without asking (needed with --all on a terminal).")
    var yes = false

    @OptionGroup var filters: DeadFilterOptions

    func validate() throws {
        guard ids.isEmpty != !all else { throw ValidationError("name dead letters by id, or use --all (with filters), not both") }
    }

    /// Runs `action` over the selected letters a page at a time; returns (selected, acted on).
    func apply(_ dead: DeadLetters, verb: String, _ action: ([DeadLetters.Item]) async throws -> Int) async throws -> (Int, Int) {
        if !all {
            var items: [DeadLetters.Item] = []
            var missing: [String] = []
            for id in ids {
                if let item = try await dead.find(id, in: filters.filter) { items.append(item) } else { missing.append(id) }
            }
            for id in missing { Terminal.error("no dead letter with id \(id)") }
            return (ids.count, items.isEmpty ? 0 : try await action(items))
        }
        if Terminal.stdinIsTTY && !yes {
            let count = try await dead.count(filters.filter)
            Terminal.error(
                "\(count) dead letter\(count == 1 ? "" : "s") match\(filters.isEmpty ? " (no filters: all of them)" : ""); run again with --yes to \(verb) them"
            )
            throw ExitCode(2)
        }
        var selected = 0
        var done = 0
        try await dead.forEachPage(filters.filter) { items in
            selected += items.count
            done += try await action(items)
        }
        return (selected, done)
    }
}

struct DeadRetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Put dead letters back on their queues, attempts reset and history kept.",
        discussion: "Each letter leaves the dead letters in the same step that enqueues it: retried once, even from two terminals at once."
    )

    @OptionGroup var redis: RedisOptions
    @OptionGroup var selection: DeadSelection

    func run() async throws {
        let (dead, pool) = try redis.deadLetters()
        defer { pool.close() }
        var refused = 0
        let (selected, retried) = try await RedisFailure.exitOnFailure {
            try await selection.apply(dead, verb: "retry") { items in
                let result = try await dead.retry(items)
                for item in result.refused { Terminal.error(DeadLetters.RetryError.malformed(item.jobID).description) }
                refused += result.refused.count
                return result.retried
            }
        }
        print(
            "retried \(retried) of \(selected) dead letter\(selected == 1 ? "" : "s")\(retried + refused < selected ? " (the rest were already retried or dropped)" : "")"
        )
        if retried == 0 { throw ExitCode(1) }
    }
}

struct DeadDropCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drop", abstract: "Delete dead letters for good.")

    @OptionGroup var redis: RedisOptions
    @OptionGroup var selection: DeadSelection

    func run() async throws {
        let (dead, pool) = try redis.deadLetters()
        defer { pool.close() }
        let (selected, dropped) = try await RedisFailure.exitOnFailure {
            try await selection.apply(dead, verb: "drop") { try await dead.drop($0) }
        }
        print("dropped \(dropped) of \(selected) dead letter\(selected == 1 ? "" : "s")")
        if dropped == 0 { throw ExitCode(1) }
    }
}

struct DeadExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write dead letters as JSON lines (oldest first), for a ticket or a later 'dead import'."
    )

    @OptionGroup var redis: RedisOptions
    @OptionGroup var filters: DeadFilterOptions

    func run() async throws {
        let (dead, pool) = try redis.deadLetters()
        defer { pool.close() }
        var count = 0
        try await RedisFailure.exitOnFailure {
            try await dead.forEachPage(filters.filter) { items in
                var chunk = ""
                for item in items { chunk += DeadLetters.exportLine(item) + "\n" }
                FileHandle.standardOutput.write(Data(chunk.utf8))
                count += items.count
            }
        }
        if count == 0 {
            Terminal.error("no dead letters match")
            throw ExitCode(1)
        }
    }
}

struct DeadImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add dead letters from JSON lines written by 'dead export' (each to its own queue's dead letters)."
    )

    @OptionGroup var redis: RedisOptions

    @Option(help: "Read from this file instead of standard input.")
    var file: String?

    /// The longest line read: a letter's payload is at most 1 MiB, and JSON may escape each byte
    /// into six; a longer line is refused unread, so a file of any size costs a bounded memory.
    static let longestLine = 8 << 20

    func run() async throws {
        let (dead, pool) = try redis.deadLetters()
        defer { pool.close() }
        let handle: FileHandle
        if let file {
            guard let opened = FileHandle(forReadingAtPath: file) else {
                Terminal.error("cannot read \(file)")
                throw ExitCode(1)
            }
            handle = opened
        } else {
            handle = FileHandle.standardInput
        }
        var importing = DeadLetters.Import(letters: dead) { kind, queue in Catalogue.placementProblem(kind: kind, queue: queue) }
        let report = try await RedisFailure.exitOnFailure {
            var batch: [(number: Int, text: String)] = []
            var line: [UInt8] = []
            var number = 1
            var tooLong = false
            func finish() {
                defer { line.removeAll(keepingCapacity: true); tooLong = false; number += 1 }
                if tooLong { importing.refuse(line: number, "longer than \(Self.longestLine >> 20) MiB"); return }
                let text = String(decoding: line, as: UTF8.self)
                if !text.trimmingCharacters(in: .whitespaces).isEmpty { batch.append((number, text)) }
            }
            while true {
                let chunk = handle.readData(ofLength: 1 << 16)
                if chunk.isEmpty { break }
                for byte in chunk {
                    if byte == UInt8(ascii: "\n") {
                        finish()
                    } else if !tooLong {
                        line.append(byte)
                        if line.count > Self.longestLine { tooLong = true; line.removeAll() }
                    }
                }
                if batch.count >= 500 {
                    try await importing.add(batch)
                    batch.removeAll()
                }
            }
            if !line.isEmpty || tooLong { finish() }
            try await importing.add(batch)
            return importing.report
        }
        for refusal in report.refused { Terminal.error(refusal.description) }
        var summary = "imported \(report.imported) dead letter\(report.imported == 1 ? "" : "s")"
        if report.alreadyThere > 0 { summary += ", \(report.alreadyThere) already there" }
        if !report.refused.isEmpty { summary += ", refused \(report.refused.count)" }
        print(summary)
        if !report.refused.isEmpty { throw ExitCode(2) }
        if report.imported == 0 && report.alreadyThere == 0 { throw ExitCode(1) }
    }
}
