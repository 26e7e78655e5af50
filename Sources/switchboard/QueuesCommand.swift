import ArgumentParser
import Foundation
import Jobs
import Queue
import Redis

struct QueuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queues",
        abstract: "Show each queue: length, pending, lag, delayed retries, dead letters and consumers.",
        discussion: "length counts entries in the stream (waiting and in flight); pending, those delivered and not yet settled; lag, those not yet delivered."
    )

    @OptionGroup var redis: RedisOptions

    @Flag(help: "Print JSON (one object with a 'queues' array) instead of a table.")
    var json = false

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let inspector = Inspector(broker: Broker(pool: pool, keys: Keys(prefix: redis.keyPrefix)))
        let infos = try await RedisFailure.exitOnFailure {
            var infos: [Inspector.QueueInfo] = []
            for name in try await inspector.queueNames(including: Catalogue.registry().queues) {
                infos.append(try await inspector.info(name))
            }
            return infos
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            struct Output: Encodable { var queues: [Inspector.QueueInfo] }
            print(String(decoding: try encoder.encode(Output(queues: infos)), as: UTF8.self))
            return
        }
        var rows = [["QUEUE", "LENGTH", "PENDING", "LAG", "DELAYED", "DEAD", "CONSUMERS"]]
        for info in infos {
            let consumers = info.consumers.map { "\($0.name) (pending \($0.pending), idle \(Self.idle($0.idleMilliseconds)))" }
            rows.append([info.queue, String(info.length), String(info.pending), info.lag.map(String.init) ?? "?",
                         String(info.delayed), String(info.dead), consumers.isEmpty ? "-" : consumers.joined(separator: ", ")])
        }
        print(Table.render(rows), terminator: "")
    }

    static func idle(_ milliseconds: Int) -> String {
        milliseconds < 1000 ? "\(milliseconds)ms" : milliseconds < 120_000 ? "\(milliseconds / 1000)s" : "\(milliseconds / 60_000)m"
    }
}

/// Left-aligned columns separated by two spaces.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
