import ArgumentParser
import Foundation
import Jobs
import Queue
import Redis

/// `switchboard trace ID`: one flow, from the job that started it to its last stage, with every
/// attempt's queue, outcome, times and error, and the jobs of it still waiting or running.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Show a flow's stages by flow id or by the id of any of its jobs.",
        discussion: """
            The producer answers every accepted webhook with its flow_id; each stage's log lines carry flow.id. \
            Settled attempts come from each queue's history (the consumers' --history-entries and --history-age, \
            default the last 1,000 per queue within 24 hours); jobs still waiting, running (with their consumer), \
            waiting for a retry, and dead letters are looked up in the queues themselves. Exits 1 when nothing \
            is known of the id.
            """
    )

    @OptionGroup var redis: RedisOptions

    @Argument(help: "A flow id or a job id.")
    var id: String

    @Flag(help: "Print the trace as one JSON object.")
    var json = false

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let tracer = FlowTracer(broker: Broker(pool: pool, keys: Keys(prefix: redis.keyPrefix)))
        guard let trace = try await RedisFailure.exitOnFailure({ try await tracer.trace(id, queues: Catalogue.allQueues) }) else {
            Terminal.error("nothing is known of \(id): no flow or job with that id in any queue, history or dead letters")
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(trace), as: UTF8.self))
            return
        }
        print(Self.describe(trace), terminator: "")
    }

    static func describe(_ trace: FlowTrace) -> String {
        var rows = [["AT", "QUEUE", "KIND", "JOB", "ATTEMPT", "STATE", "TOOK", "DETAIL"]]
        for step in trace.steps {
            var detail = step.detail(age: { Terminal.age(milliseconds: $0) }, time: { Terminal.timestamp(milliseconds: Double($0)) })
            if let entry = step.entryID { detail += " (dead letter \(entry))" }
            rows.append([
                Terminal.timestamp(milliseconds: Double(step.at)), step.queue, step.kind, step.jobID, String(step.attempt),
                step.state.rawValue,
                step.milliseconds.map { Terminal.age(milliseconds: Int(clamping: $0)) } ?? "-", detail,
            ])
        }
        var text = "flow \(Terminal.visible(trace.flow))\n"
        text += Table.render(rows) { _, column, cell in
            guard column == 5 else { return nil }
            switch cell {
            case "dead", "dead-letter": return .red
            case "retry", "delayed": return .yellow
            case "done", "next": return .green
            default: return nil
            }
        }
        if trace.truncated { text += "(some queues were longer than the scan allows: jobs further back may be missing)\n" }
        return text
    }
}
