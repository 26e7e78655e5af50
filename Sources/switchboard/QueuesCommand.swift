import ArgumentParser
import Foundation
import Jobs
import Limits
import Queue
import Redis

struct QueuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queues",
        abstract: "Show the queues, or pause and resume one.",
        subcommands: [QueuesShowCommand.self, QueuesPauseCommand.self, QueuesResumeCommand.self],
        defaultSubcommand: QueuesShowCommand.self
    )
}

struct QueuesShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract:
            "Show each queue: state, depth, pending, oldest job, consumers, processed and failed per minute, delayed retries, dead letters.",
        discussion: """
            depth counts the entries in the stream (waiting and in flight: acknowledged entries are deleted); \
            pending, those delivered and not yet settled; lag, those not yet delivered; oldest, the age of the \
            oldest unfinished entry; processed/min and failed/min, the last whole minute. Consumers are listed \
            below the table with their pending entries and idle time, and below them each external service \
            called under a limit: the limit, whether it is paused by a 429 (and for how long) or holding \
            background calls back for guests', its calls in flight, and the calls let through and held back \
            (by why: rate, concurrency, paused, priority) since the deployment began.
            """
    )

    @OptionGroup var redis: RedisOptions

    @Flag(help: "Print JSON (one object with a 'queues' array) instead of a table.")
    var json = false

    @Flag(help: "Redraw the table in place every --interval seconds until interrupted.")
    var watch = false

    @Option(help: "Seconds between redraws with --watch.")
    var interval: Double = 1

    func validate() throws {
        guard (0.1...3600).contains(interval) else { throw ValidationError("--interval must be 0.1-3600 seconds") }
        guard !(json && watch) else { throw ValidationError("--json and --watch do not go together") }
    }

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let keys = Keys(prefix: redis.keyPrefix)
        let inspector = Inspector(broker: Broker(pool: pool, keys: keys))
        let limits = LimitInspector(pool: pool, keys: keys)
        if json {
            let state = try await RedisFailure.exitOnFailure { try await Self.state(inspector, limits) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(state), as: UTF8.self))
            return
        }
        guard watch else {
            print(Self.render(try await RedisFailure.exitOnFailure { try await Self.state(inspector, limits) }), terminator: "")
            return
        }
        // Each frame overwrites the last from the top-left corner: every line is cleared to its end
        // and the rest of the screen below is cleared, so nothing scrolls and nothing flickers.
        while !Task.isCancelled {
            let frame: String
            do {
                frame = Self.render(try await Self.state(inspector, limits))
            } catch {
                frame = "redis: \(error)\n"
            }
            let stamp = Terminal.paint("every \(interval)s, \(Date().formatted(date: .omitted, time: .standard)) (Ctrl-C to stop)", .dim)
            let lines = (frame + stamp).split(separator: "\n", omittingEmptySubsequences: false).map { $0 + "\u{1B}[K" }
            FileHandle.standardOutput.write(Data(("\u{1B}[H" + lines.joined(separator: "\n") + "\n\u{1B}[J").utf8))
            try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
        }
    }

    /// Everything the command shows (and `--json` prints): the queues and the limited services.
    struct State: Encodable {
        var queues: [Inspector.QueueInfo]
        var services: [LimitInspector.ServiceState]
    }

    static func state(_ inspector: Inspector, _ limits: LimitInspector) async throws -> State {
        var infos: [Inspector.QueueInfo] = []
        for name in try await inspector.queueNames(including: Catalogue.registry().queues) {
            infos.append(try await inspector.info(name))
        }
        return State(queues: infos, services: try await limits.services())
    }

    static func render(_ state: State) -> String {
        let (infos, services) = (state.queues, state.services)
        var rows = [["QUEUE", "STATE", "DEPTH", "PENDING", "LAG", "OLDEST", "CONSUMERS", "PROCESSED/MIN", "FAILED/MIN", "DELAYED", "DEAD"]]
        for info in infos {
            rows.append([
                info.queue, info.paused ? "paused" : "active", String(info.length), String(info.pending), info.lag.map(String.init) ?? "?",
                info.oldestAgeMilliseconds.map { Terminal.age(milliseconds: $0) } ?? "-", String(info.consumers.count),
                String(info.processedPerMinute), String(info.failedPerMinute), String(info.delayed), String(info.dead),
            ])
        }
        var text = Table.render(rows) { _, column, cell in
            switch column {
            case 1: cell == "paused" ? .yellow : nil
            case 8, 10: cell == "0" ? nil : .red
            default: nil
            }
        }
        let consumers = infos.flatMap { info in info.consumers.map { (info.queue, $0) } }
        if !consumers.isEmpty {
            text +=
                "\n"
                + Table.render(
                    [["QUEUE", "CONSUMER", "PENDING", "IDLE"]]
                        + consumers.map { queue, consumer in
                            [queue, consumer.name, String(consumer.pending), Terminal.age(milliseconds: consumer.idleMilliseconds)]
                        })
        }
        if !services.isEmpty {
            text +=
                "\n"
                + Table.render(
                    [["SERVICE", "LIMIT", "STATE", "IN FLIGHT", "LET THROUGH", "HELD BACK", "WHY", "429 PAUSES"]]
                        + services.map { state in
                            let condition =
                                state.pausedForMilliseconds > 0
                                ? "paused \(Terminal.age(milliseconds: Int(state.pausedForMilliseconds)))"
                                : state.backgroundGivingWay ? "guests first" : "open"
                            let why = state.heldBecause.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                            return [
                                state.service, state.limit, condition, String(state.inFlight), String(state.letThrough),
                                String(state.heldBack),
                                why.isEmpty ? "-" : why, String(state.pauses),
                            ]
                        }
                ) { _, column, cell in
                    column == 2 && cell.hasPrefix("paused") ? .yellow : nil
                }
        }
        return text
    }
}

struct QueuesPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Stop consumers from taking new jobs from a queue (they keep running; jobs in flight finish).",
        discussion: "Takes effect within about a second on every consumer. Enqueues are still accepted."
    )

    @OptionGroup var redis: RedisOptions

    @Argument(help: "The queue to pause.")
    var queue: String

    func validate() throws { try PauseSwitch.check(queue) }

    func run() async throws {
        try await PauseSwitch.set(queue, paused: true, redis: redis)
    }
}

struct QueuesResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Let consumers take jobs from a paused queue again.")

    @OptionGroup var redis: RedisOptions

    @Argument(help: "The queue to resume.")
    var queue: String

    func validate() throws { try PauseSwitch.check(queue) }

    func run() async throws {
        try await PauseSwitch.set(queue, paused: false, redis: redis)
    }
}

enum PauseSwitch {
    /// A queue no kind of this build runs on (a typo, `*`, an empty name) is refused: "paused"
    /// would be said of nothing.
    static func check(_ queue: String) throws {
        if let problem = Catalogue.placementProblem(kind: nil, queue: queue, shown: { Terminal.visible($0) }) {
            throw ValidationError(problem)
        }
    }

    static func set(_ queue: String, paused: Bool, redis: RedisOptions) async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let broker = Broker(pool: pool, keys: Keys(prefix: redis.keyPrefix))
        let changed = try await RedisFailure.exitOnFailure { try await broker.setPaused(queue, paused) }
        print(changed ? "\(queue) \(paused ? "paused" : "resumed")" : "\(queue) was already \(paused ? "paused" : "active")")
    }
}
