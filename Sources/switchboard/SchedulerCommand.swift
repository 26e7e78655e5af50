import ArgumentParser
import Foundation
import Jobs
import Metrics
import Monitoring
import Prometheus
import Queue
import Scheduler
import Services

struct SchedulerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler",
        abstract: "Enqueue periodic jobs at their ticks until SIGTERM or SIGINT; any number of replicas fire each tick once.",
        discussion: """
            The schedule is a JSON file (--schedule, else SCHEDULE_FILE): an array of \
            {"name": "nightly", "cron": "0 3 * * *", "kind": "…", "payload": {…}, "queue": "…", "tz": "Europe/Paris"}. \
            cron is five fields on the wall clock of tz, UTC by default (minute hour day-of-month month day-of-week; \
            *, lists, ranges, steps, names), @hourly, @daily, @weekly, @monthly, or @every 30s / 5m / 1h; a time \
            of day skipped by a daylight-saving jump fires at the first minute after it, one lived twice fires \
            once. `switchboard schedules` shows what it will do and did. One replica holds \
            a leader lease and fires; each tick is enqueued with its own dedupe key, so no tick is ever \
            enqueued twice. A tick missed by less than --catch-up (a restart, a failover) is fired late, \
            once. Serves /metrics, /healthz and /readyz on --metrics-port.
            """
    )

    @OptionGroup var redis: RedisOptions

    @OptionGroup var schedule: ScheduleFileOptions

    @Option(name: .customLong("catch-up"), help: ArgumentHelp("Seconds within which a missed tick is still fired.", valueName: "seconds"))
    var catchUp: Int = 3600

    @Option(help: ArgumentHelp("Seconds of the leader lease; a dead leader is replaced after at most this long.", valueName: "seconds"))
    var lease: Int = 15

    @Option(name: .customLong("metrics-port"), help: "Port of /metrics, /healthz and /readyz; 0 turns the listener off.")
    var metricsPort: Int = 9090

    func validate() throws {
        guard (0...30 * 86_400).contains(catchUp) else { throw ValidationError("--catch-up must be 0-2592000 seconds (30 days)") }
        guard (3...3600).contains(lease) else { throw ValidationError("--lease must be 3-3600 seconds") }
        guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be 0-65535") }
    }

    func run() async throws {
        let (_, entries) = try schedule.load()
        let logger = Logs.bootstrap()
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let configuration = SchedulerService.Configuration(
            entries: entries, name: ConsumerName.make(), lease: .seconds(lease), catchUp: .seconds(catchUp))
        try await SchedulerRole.run(
            redis: try redis.endpoint(), prefix: redis.keyPrefix, configuration: configuration,
            monitoringPort: metricsPort == 0 ? nil : metricsPort, metrics: metrics, logger: logger)
    }
}

/// The schedule file every command that reads one takes: `--schedule`, else SCHEDULE_FILE.
struct ScheduleFileOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The schedule file (default: SCHEDULE_FILE).", valueName: "path"))
    var schedule: String?

    /// The file's entries, read as the scheduler reads them; a usage error naming the file (and
    /// the entry at fault) when it is missing, unreadable or wrong.
    func load() throws -> (path: String, entries: [ScheduleEntry]) {
        guard let path = schedule ?? ProcessInfo.processInfo.environment["SCHEDULE_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ValidationError("no schedule: pass --schedule FILE or set SCHEDULE_FILE")
        }
        return try Self.load(path)
    }

    /// The most a schedule file may hold: far more than any schedule, and a path to a device that
    /// never ends (`/dev/zero`) or a mistaken multi-gigabyte file is refused, not read into memory.
    static let largestFile = 1 << 20

    static func load(_ path: String) throws -> (path: String, entries: [ScheduleEntry]) {
        do {
            let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? file.close() }
            let data = try file.read(upToCount: largestFile + 1) ?? Data()
            guard data.count <= largestFile else {
                throw ValidationError("the schedule \(path) is larger than \(largestFile) bytes; is it the right file?")
            }
            let environment = ProcessInfo.processInfo.environment
            let budgets = try RetryBudgets(environment: environment)
            return (path, try ScheduleEntry.load(data, registry: Catalogue.schedulable(budgets: budgets)))
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        } catch let error as ValidationError {
            throw error
        } catch let error as CronError {
            throw ValidationError("\(path): \(error)")
        } catch {
            throw ValidationError("cannot read the schedule \(path): \(error.localizedDescription)")
        }
    }
}
