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
        abstract: "Each entry's cron, zone, kind, next fire, last fire and the job it made (and whether it died), and the scheduler's leader.")

    @OptionGroup var redis: RedisOptions

    @OptionGroup var schedule: ScheduleFileOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Row: Encodable {
        var name: String
        var cron: String
        var zone: String
        var kind: String
        var queue: String
        var next: Int?
        var last: FiredTicks.Fire?
        var lastOutcome: String?
    }

    struct Leader: Encodable {
        var replica: String
        var leaseLeftMilliseconds: Int
    }

    func run() async throws {
        let (_, entries) = try schedule.load()
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let keys = Keys(prefix: redis.keyPrefix)
        let broker = Broker(pool: pool, keys: keys)
        let now = Int(Date().timeIntervalSince1970)
        let (rows, leader) = try await RedisFailure.exitOnFailure { () -> ([Row], Leader?) in
            let fired = try await FiredTicks(pool: pool, keys: keys).all()
            var rows: [Row] = []
            for entry in entries {
                let last = fired[entry.name]
                var outcome: String?
                if let last {
                    outcome = try await DeadLetters(broker: broker).find(last.jobID) != nil ? "dead" : "not dead"
                }
                rows.append(Row(name: entry.name, cron: entry.schedule.description, zone: entry.schedule.zoneName, kind: entry.job.kind,
                                queue: entry.job.queue, next: entry.schedule.nextTick(after: now), last: last, lastOutcome: outcome))
            }
            let holder = try await pool.send("GET", keys.schedulerLeader).string
            let left = try await pool.send("PTTL", keys.schedulerLeader).integer ?? -2
            return (rows, holder.map { Leader(replica: $0, leaseLeftMilliseconds: max(left, 0)) })
        }
        if json {
            struct Output: Encodable { var schedules: [Row]; var leader: Leader? }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Output(schedules: rows, leader: leader)), as: UTF8.self))
            return
        }
        func when(_ tick: Int) -> String {
            let date = Date(timeIntervalSince1970: TimeInterval(tick)).formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
            let distance = Terminal.age(milliseconds: abs(tick - now) * 1000)
            return "\(date) (\(tick >= now ? "in " + distance : distance + " ago"))"
        }
        let table = Table.render([["NAME", "CRON", "ZONE", "KIND", "NEXT", "LAST", "JOB"]] + rows.map { row in
            [row.name, row.cron, row.zone, row.kind, row.next.map(when) ?? "never", row.last.map { when($0.tick) } ?? "-",
             row.last.map { "\($0.jobID) (\(row.lastOutcome ?? "?"))" } ?? "-"]
        }) { _, column, cell in column == 6 && cell.hasSuffix("(dead)") ? .red : nil }
        print(table, terminator: "")
        print(leader.map { "leader: \($0.replica), lease left \(Terminal.age(milliseconds: $0.leaseLeftMilliseconds))" } ?? "leader: none (no scheduler running)")
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
        let keys = Keys(prefix: redis.keyPrefix)
        let now = Int(Date().timeIntervalSince1970)
        let dedupe = "scheduler:\(entry.name):manual:\(now)"
        var job = entry.job
        job.dedupe = dedupe
        let envelope = job.envelope()
        let result = try await RedisFailure.exitOnFailure {
            try await Broker(pool: pool, keys: keys).addGuarded(envelope, to: job.queue, dedupeKey: dedupe, ttlSeconds: 86_400, highWater: 0)
        }
        switch result {
        case .added(let id):
            try? await FiredTicks(pool: pool, keys: keys).record(entry.name, tick: now, jobID: id)
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
