import ArgumentParser
import Foundation
import Jobs
import Queue
import Redis
import Scheduler

struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules",
        abstract: "Show the schedule (next and last fire of each entry, the leader), run an entry now, or check a schedule file.",
        subcommands: [SchedulesShowCommand.self, SchedulesRunCommand.self, SchedulesCheckCommand.self],
        defaultSubcommand: SchedulesShowCommand.self
    )
}

struct SchedulesShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract:
            "Each entry's cron, zone, kind, next fire, last fire and the job it made (and whether it died), and the scheduler's leader.")

    @OptionGroup var redis: RedisOptions

    @OptionGroup var schedule: ScheduleFileOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let (_, entries) = try schedule.load()
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let keys = Keys(prefix: redis.keyPrefix)
        let broker = Broker(pool: pool, keys: keys)
        let now = Int(Date().timeIntervalSince1970)
        let board = ScheduleBoard(broker: broker)
        let (rows, leader) = try await RedisFailure.exitOnFailure { (try await board.rows(entries, now: now), try await board.leader()) }
        if json {
            struct Output: Encodable { var schedules: [ScheduleBoard.Row]; var leader: ScheduleBoard.Leader? }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Output(schedules: rows, leader: leader)), as: UTF8.self))
            return
        }
        func when(_ tick: Int) -> String {
            let date = Date(timeIntervalSince1970: TimeInterval(tick)).formatted(
                .iso8601.year().month().day().time(includingFractionalSeconds: false))
            let distance = Terminal.age(milliseconds: abs(tick - now) * 1000)
            return "\(date) (\(tick >= now ? "in " + distance : distance + " ago"))"
        }
        let table = Table.render(
            [["NAME", "CRON", "ZONE", "KIND", "NEXT", "LAST", "JOB"]]
                + rows.map { row in
                    [
                        row.name, row.cron, row.zone, row.kind, row.next.map(when) ?? "never", row.last.map { when($0.tick) } ?? "-",
                        row.last.map { "\($0.jobID) (\(row.lastOutcome ?? "?"))" } ?? "-",
                    ]
                }
        ) { _, column, cell in column == 6 && cell.hasSuffix("(dead)") ? .red : nil }
        print(table, terminator: "")
        print(
            leader.map { "leader: \($0.replica), lease left \(Terminal.age(milliseconds: $0.leaseLeftMilliseconds))" }
                ?? "leader: none (no scheduler running)")
    }
}

struct SchedulesRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Enqueue an entry's job now, once: a second run within the same second makes no second job.")

    @OptionGroup var redis: RedisOptions

    @OptionGroup var schedule: ScheduleFileOptions

    @Argument(help: "The entry's name.")
    var name: String

    func run() async throws {
        let (path, entries) = try schedule.load()
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw ValidationError("\(path) has no entry '\(name)' (entries: \(entries.map(\.name).joined(separator: ", ")))")
        }
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let board = ScheduleBoard(broker: Broker(pool: pool, keys: Keys(prefix: redis.keyPrefix)))
        let job = entry.job
        let result = try await RedisFailure.exitOnFailure { try await board.runNow(entry) }
        switch result {
        case .added(let id):
            print("enqueued \(job.kind) job \(id) on \(job.queue)")
        case .duplicate(let id):
            print("already enqueued this second: \(job.kind) job \(id) on \(job.queue)")
        case .full(let length):
            print("not enqueued: \(job.queue) is full (\(length) entries)")
            throw ExitCode(1)
        }
    }
}

struct SchedulesCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a schedule file as the scheduler would read it; exit 2 naming the entry at fault.")

    @Argument(help: "The schedule file.")
    var file: String

    func run() async throws {
        let (path, entries) = try ScheduleFileOptions.load(file)
        print("\(path): \(entries.count) entries, each understood (\(entries.map(\.name).joined(separator: ", ")))")
    }
}
