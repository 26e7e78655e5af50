import ArgumentParser
import Foundation
import Jobs
import Queue
import Redis
import Scheduler

struct PrivacyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy",
        abstract: "Find everything Switchboard holds about one person, forget it, and see how long each kind of data is kept.",
        discussion: """
            A consumer of the privacy queue does the work (it holds Qdrant's, the blob store's and \
            Chatwoot's keys); these commands ask it through Redis and wait for its report. For a deletion \
            request: delete the contact in Chatwoot first, then run privacy forget (README: "A guest asks \
            to be forgotten").
            """,
        subcommands: [PrivacyFindCommand.self, PrivacyForgetCommand.self, PrivacyRetentionCommand.self]
    )
}

/// Whom a privacy command is about, as its options name them.
struct PersonOptions: ParsableArguments {
    @Option(help: "The person's phone number, in any format (digits are compared).")
    var phone: String?

    @Option(help: "The person's email address.")
    var email: String?

    @Option(help: "The person's Chatwoot contact id.")
    var contact: Int?

    @Option(help: "How long to wait for the consumer's report, in seconds.")
    var timeout: Double = 600

    func request(forget: Bool, dryRun: Bool = false, redact: Bool = false, wait: Int = 120) -> PrivacyRequest {
        let user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "unknown"
        return PrivacyRequest(
            phone: phone, email: email, contact: contact, forget: forget, dryRun: dryRun, redact: redact, requestedBy: "cli:\(user)",
            waitSeconds: wait)
    }

    func check() throws {
        if let problem = request(forget: false).problem { throw ValidationError(problem) }
        guard timeout.isFinite, timeout > 0, timeout <= 86_400 else { throw ValidationError("--timeout must be from 0 to 86400 seconds") }
    }
}

extension PrivacyCommand {
    /// Asks a consumer for `request` and waits for its report; exits 4 naming the queue when none comes.
    static func ask(_ request: PrivacyRequest, redis: RedisOptions, timeout: Double) async throws -> PrivacyReport {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let broker = Broker(pool: pool, keys: Keys(prefix: redis.keyPrefix))
        return try await RedisFailure.exitOnFailure {
            try await warnWithoutConsumer(broker)
            let id = try await PrivacyJobs.ask(request, broker: broker)
            let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
            while ContinuousClock.now < deadline {
                if let report = try await PrivacyJobs.report(id, pool: pool, keys: broker.keys) { return report }
                try await Task.sleep(for: .milliseconds(250))
            }
            Terminal.error("no report within \(Int(timeout)) s: is a consumer of the privacy queue running (consumer --queues privacy)?")
            throw ExitCode(4)
        }
    }

    static func warnWithoutConsumer(_ broker: Broker) async throws {
        let info = try await Inspector(broker: broker).info(PrivacyJobs.queue)
        if info.consumers.isEmpty {
            Terminal.error("no consumer has read the privacy queue yet; the request waits for one (consumer --queues privacy)")
        }
    }

    static func print(_ report: PrivacyReport) {
        let verb = report.forgot ? "Forgotten" : (report.dryRun ? "Would forget" : "Held")
        Swift.print(Terminal.paint("\(verb) about \(report.subject):", .bold))
        for place in report.places where place.held > 0 || place.removed > 0 || !place.notes.isEmpty {
            let removed = report.forgot ? ", \(place.removed) removed" : ""
            Swift.print(Terminal.paint("  \(place.place): \(place.held)\(removed)", .bold))
            for item in place.items {
                Swift.print("    " + (item.at.map { $0 + "  " } ?? "") + Terminal.visible(item.what))
            }
            if place.held > place.items.count { Swift.print("    … and \(place.held - place.items.count) more") }
            for note in place.notes { Swift.print("    (\(Terminal.visible(note)))") }
        }
        if report.held == 0 && report.removed == 0 { Swift.print("  nothing held") }
        if !report.chatwootContacts.isEmpty {
            Swift.print(
                "Chatwoot still has contact(s) \(report.chatwootContacts.map(String.init).joined(separator: ", ")) for this person: delete them there too."
            )
        }
        if report.stillRunning > 0 {
            Swift.print(
                Terminal.paint("\(report.stillRunning) job(s) of this person were still running: run forget again once they finish.", .red))
        }
        if let failed = report.failed {
            Terminal.error("stopped at \(failed); what is listed above as removed was removed — run it again to finish")
        }
    }

    /// 0 done, 1 nothing held, 3 incomplete (a place failed, jobs still running).
    static func exitCode(_ report: PrivacyReport) -> Int32 {
        if !report.complete { return 3 }
        return report.held == 0 && report.removed == 0 ? 1 : 0
    }
}

struct PrivacyFindCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find",
        abstract: "Everything held about one person, by place, each item named just enough to recognise it (exit 1: nothing held).")

    @OptionGroup var redis: RedisOptions
    @OptionGroup var person: PersonOptions

    @Flag(help: "One JSON object instead of text.")
    var json = false

    func validate() throws { try person.check() }

    func run() async throws {
        let report = try await PrivacyCommand.ask(person.request(forget: false), redis: redis, timeout: person.timeout)
        if json { try Terminal.printJSONLine(report) } else { PrivacyCommand.print(report) }
        let code = PrivacyCommand.exitCode(report)
        if code != 0 { throw ExitCode(code) }
    }
}

struct PrivacyForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Remove everything held about one person, report it per place, and audit it (the identifier hashed).",
        discussion: """
            Shows what would go and asks to confirm, unless --yes. Waiting jobs of the person are \
            dead-lettered without their payload; running ones are let finish (up to --wait) and what they \
            made removed after. Run twice, the second run finds nothing. Exit 1: nothing held; 3: not \
            finished (a place failed, or jobs still running) — run it again.
            """)

    @OptionGroup var redis: RedisOptions
    @OptionGroup var person: PersonOptions

    @Flag(name: .customLong("dry-run"), help: "Only show what would be removed.")
    var dryRun = false

    @Flag(help: "Do not ask to confirm.")
    var yes = false

    @Flag(help: "Keep the person's dead letters without their payload (ids, kinds, errors, times) instead of removing them.")
    var redact = false

    @Option(help: "How long to wait for the person's running jobs to finish, in seconds.")
    var wait: Int = 120

    @Flag(help: "One JSON object instead of text.")
    var json = false

    func validate() throws {
        try person.check()
        guard (0...3_600).contains(wait) else { throw ValidationError("--wait must be from 0 to 3600 seconds") }
    }

    func run() async throws {
        if !dryRun && !yes {
            guard isatty(0) == 1 else {
                Terminal.error("forget asks to confirm on a terminal; pass --yes to forget without asking, or --dry-run to look")
                throw ExitCode(2)
            }
            let preview = try await PrivacyCommand.ask(person.request(forget: true, dryRun: true), redis: redis, timeout: person.timeout)
            PrivacyCommand.print(preview)
            guard preview.complete else { throw ExitCode(3) }
            guard preview.held > 0 else { throw ExitCode(1) }
            Swift.print("Forget all of it? Type yes: ", terminator: "")
            guard readLine()?.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
                Swift.print("Nothing removed.")
                return
            }
        }
        let report = try await PrivacyCommand.ask(
            person.request(forget: true, dryRun: dryRun, redact: redact, wait: wait), redis: redis, timeout: person.timeout + Double(wait))
        if json { try Terminal.printJSONLine(report) } else { PrivacyCommand.print(report) }
        let code = PrivacyCommand.exitCode(report)
        if code != 0 { throw ExitCode(code) }
    }
}

struct PrivacyRetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Each retention setting, the oldest item held per kind, how many are past their time, and when the next removal runs.")

    @OptionGroup var redis: RedisOptions

    @Option(help: ArgumentHelp("The schedule file, for the next run (default: SCHEDULE_FILE).", valueName: "path"))
    var schedule: String?

    @Option(help: "How long to wait for the consumer's report, in seconds.")
    var timeout: Double = 600

    @Flag(help: "One JSON object instead of text.")
    var json = false

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let broker = Broker(pool: pool, keys: Keys(prefix: redis.keyPrefix))
        let path = schedule ?? ProcessInfo.processInfo.environment["SCHEDULE_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let entries = try path.map { try ScheduleFileOptions.load($0).entries } ?? []
        let (report, last, rows) = try await RedisFailure.exitOnFailure {
            try await PrivacyCommand.warnWithoutConsumer(broker)
            let id = UUID().uuidString.lowercased()
            try await RetentionSweep.askDryRun(id: id, broker: broker)
            let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
            var report: RetentionSweep.Report?
            while report == nil, ContinuousClock.now < deadline {
                report = try await RetentionSweep.report(id, pool: pool, keys: broker.keys)
                if report == nil { try await Task.sleep(for: .milliseconds(250)) }
            }
            return (
                report, try await RetentionSweep.lastReport(pool: pool, keys: broker.keys),
                try await ScheduleBoard(broker: broker).rows(entries.filter { $0.job.kind == RetentionSweep.kind })
            )
        }
        guard let report else {
            Terminal.error("no report within \(Int(timeout)) s: is a consumer of the privacy queue running (consumer --queues privacy)?")
            throw ExitCode(4)
        }
        let next: Int? = rows.compactMap { $0.next }.min()
        if json {
            struct Output: Encodable {
                var report: RetentionSweep.Report
                var lastRun: UInt64?
                var nextRun: Int?
                enum CodingKeys: String, CodingKey {
                    case report
                    case lastRun = "last_run"
                    case nextRun = "next_run"
                }
            }
            try Terminal.printJSONLine(Output(report: report, lastRun: last?.finishedAt, nextRun: next))
            return
        }
        let header = ["SETTING", "KEPT", "WHAT", "OLDEST HELD", "PAST ITS TIME"]
        let lines: [[String]] = report.rows.map { row in [row.setting, row.kept, row.what, row.oldest ?? "-", String(row.due)] }
        Swift.print(Table.render([header] + lines))
        Swift.print(
            "Deleted contacts forgotten daily (PRIVACY_FORGET_DELETED_CONTACTS): \(report.forgetDeletedContacts ? "yes" : "no")")
        Swift.print("Last removal: " + (last.map { Terminal.timestamp(milliseconds: Double($0.finishedAt)) } ?? "never"))
        if let next {
            Swift.print("Next removal: " + Terminal.timestamp(milliseconds: Double(next) * 1000))
        } else {
            Swift.print(
                "Next removal: "
                    + (path == nil ? "unknown (no --schedule or SCHEDULE_FILE)" : "not scheduled (no \(RetentionSweep.kind) entry)"))
        }
        if let failed = report.failed { Terminal.error("the look stopped at \(failed)") }
    }
}
