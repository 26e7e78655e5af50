import ArgumentParser
import Foundation
import Jobs
import Queue
import Redis
import Services

struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Add jobs to a queue.",
        discussion: """
            Prints the job id of each job added (or, with --count above 1, how many were added). Example: \
            switchboard enqueue --kind sleep --payload '{"ms": 200}' --count 50
            """
    )

    @OptionGroup var redis: RedisOptions

    @Option(help: "The queue (default: the kind's queue in the catalogue).")
    var queue: String?

    @Option(help: "The job kind, e.g. noop, sleep, fail, incr.")
    var kind: String

    @Option(help: "The payload, a JSON object.")
    var payload: String = "{}"

    @Option(help: "How many identical jobs to add.")
    var count: Int = 1

    @Option(name: .customLong("max-attempts"), help: "Attempts before the job is dead-lettered (default: the kind's retry policy).")
    var maxAttempts: Int?

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        if let maxAttempts { guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") } }
        guard (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) is [String: Any] else {
            throw ValidationError("--payload must be a JSON object, got: \(payload.prefix(80))")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let budgets: RetryBudgets
        do { budgets = try RetryBudgets(environment: environment) } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let definition = Catalogue.registry(allowCrash: Diagnostics.crashAllowed(environment), budgets: budgets)[kind]
        // A job on a queue where its kind does not run would sit there for ever: every consumer
        // refuses a queue it cannot serve. The table knows every kind of the build, configured or not.
        let home = Catalogue.queueOfKind[kind]
        guard let queue = queue ?? home else {
            throw ValidationError(
                "unknown kind '\(Terminal.visible(kind))' and no --queue given; known kinds: \(Catalogue.queueOfKind.keys.sorted().joined(separator: ", "))"
            )
        }
        if let problem = Catalogue.placementProblem(kind: kind, queue: queue, shown: { Terminal.visible($0) }) {
            throw ValidationError(problem)
        }
        if home == nil {
            FileHandle.standardError.write(
                Data("warning: '\(Terminal.visible(kind))' is not a kind of the catalogue; consumers will dead-letter it\n".utf8))
        }
        let attempts = maxAttempts ?? definition?.retry.maxAttempts ?? 1
        let request = JobRequest(queue: queue, kind: kind, payload: payload, maxAttempts: attempts)
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let broker = Broker(pool: pool, keys: Keys(prefix: redis.keyPrefix))
        try await RedisFailure.exitOnFailure {
            if count == 1 {
                let envelope = request.envelope()
                try await broker.add(envelope, to: queue)
                print(envelope.id)
            } else {
                let now = WallClock.unixMilliseconds()
                try await broker.add((0..<count).map { _ in request.envelope(now: now) }, to: queue)
                print("enqueued \(count) \(kind) jobs on \(queue)")
            }
        }
    }
}

/// How the CLI reports Redis failures: one line on standard error saying what failed and what to
/// check, and an exit code scripts can rely on (3: Redis unreachable, 1: Redis refused the command).
enum RedisFailure {
    static func exitOnFailure<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RedisError {
            throw report(error)
        }
    }

    /// Writes the line for `error` and returns the exit code it calls for.
    static func report(_ error: RedisError) -> ExitCode {
        let hint =
            error.isAuthenticationProblem
            ? " (Redis wants a password or another one: put it in --redis / REDIS_URL as redis://[user:]password@host)"
            : error.isConnectionProblem ? " (is Redis running, and are --redis / REDIS_URL right?)" : ""
        FileHandle.standardError.write(Data("error: \(error)\(hint)\n".utf8))
        return ExitCode(error.isConnectionProblem || error.isAuthenticationProblem ? 3 : 1)
    }
}
