import ArgumentParser
import Foundation
import Jobs
import Queue
import Redis

struct BackupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backups",
        abstract: "List the backups that exist, as their jobs recorded them.",
        subcommands: [BackupsListCommand.self],
        defaultSubcommand: BackupsListCommand.self
    )
}

struct BackupsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "The snapshots (and dumps) that exist, newest first: kind, name, server, when, age, size, how long it took.",
        discussion: "A backup is listed once its job finished it, and no longer once rotation removed it. Reads Redis only; no vendor credential is needed.")

    @OptionGroup var redis: RedisOptions

    @Flag(help: "Print JSON (one object with a 'backups' array) instead of a table.")
    var json = false

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let records = try await RedisFailure.exitOnFailure { try await BackupRecords(pool: pool, keys: Keys(prefix: redis.keyPrefix)).all() }
        if json {
            struct Output: Encodable { var backups: [BackupRecords.Record] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Output(backups: records)), as: UTF8.self))
            return
        }
        guard !records.isEmpty else {
            print("no backups recorded yet")
            return
        }
        let now = Int(Date().timeIntervalSince1970 * 1000)
        print(Table.render([["KIND", "NAME", "SERVER", "FINISHED", "AGE", "SIZE", "TOOK"]] + records.map { record in
            let finished = Date(timeIntervalSince1970: TimeInterval(record.finishedAt) / 1000).formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
            return [record.kind, record.name, record.server.map(String.init) ?? "-", finished, Terminal.age(milliseconds: now - Int(record.finishedAt)),
                    record.bytes.map { ByteCountFormatter.string(fromByteCount: $0, countStyle: .binary) } ?? "-",
                    Terminal.age(milliseconds: Int(record.durationMilliseconds))]
        }), terminator: "")
    }
}
