import Foundation
import Logging
import Metrics
import Queue
import Redis
import ServiceLifecycle
import Synchronization

/// `switchboard scheduler`: enqueues each schedule entry's job at each of its ticks, exactly once
/// however many replicas run.
///
/// Once is guaranteed by Redis, not by timing: a tick is enqueued by the same atomic step that sets
/// its dedupe key (`scheduler:<name>:<tick>`), so a second replica firing the same tick — after a
/// failover, a pause, a clock a little off — enqueues nothing. A leader lease keeps the others idle:
/// only the holder fires, renewing the lease every third of its length; when it stops (SIGTERM
/// gives the lease up at once) or dies (the lease runs out), another replica takes over and fires
/// every tick missed since the last one recorded as fired, within the catch-up window.
public final class SchedulerService: Service, Sendable {
    public struct Configuration: Sendable {
        public var entries: [ScheduleEntry]
        /// This replica's name in the lease.
        public var name: String
        public var lease: Duration
        /// A tick missed by at most this much is still fired (once); older ones are skipped.
        public var catchUp: Duration
        /// Unix seconds now; replaced in tests.
        public var now: @Sendable () -> Int

        public init(
            entries: [ScheduleEntry], name: String, lease: Duration = .seconds(15), catchUp: Duration = .seconds(3600),
            now: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970) }
        ) {
            self.entries = entries
            self.name = name
            self.lease = lease
            self.catchUp = catchUp
            self.now = now
        }
    }

    let configuration: Configuration
    let broker: Broker
    let logger: Logger
    private let stopping = StopSignal()
    private let leading = Mutex(false)

    public init(configuration: Configuration, broker: Broker, logger: Logger) {
        self.configuration = configuration
        self.broker = broker
        self.logger = logger
    }

    /// Whether this replica held the lease at its last attempt.
    public var isLeader: Bool { leading.withLock { $0 } }

    public func stop() { stopping.raise() }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.work(releaseOnStop: true)
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// The loop; `releaseOnStop: false` leaves the lease to run out, as a crashed replica would.
    public func work(releaseOnStop: Bool) async {
        let leaderGauge = Gauge(label: "switchboard_scheduler_leader")
        let leaseKey = broker.keys.schedulerLeader
        // Often enough that a tick is enqueued within a quarter second of its time.
        let step = min(configuration.lease / 3, .milliseconds(250))
        // The tick each entry last saw settled in Redis (enqueued or found already enqueued).
        var settled: [String: Int] = [:]
        // On taking over, the ticks the replicas before this one recorded as fired: every tick
        // after those (within the catch-up window) is still due, so a change of leader skips none.
        var recorded: [String: Int] = [:]
        logger.info(
            "scheduler started",
            metadata: [
                "entries": "\(configuration.entries.map { "\($0.name) (\($0.schedule))" }.joined(separator: ", "))",
                "replica": "\(configuration.name)",
            ])
        repeat {
            let holds: Bool
            do {
                holds = try await broker.holdLease(leaseKey, owner: configuration.name, lease: configuration.lease)
            } catch {
                holds = false
                logger.warning("cannot reach Redis for the leader lease", metadata: ["error": "\(error)"])
            }
            let was = leading.withLock { value in
                defer { value = holds }; return value
            }
            if holds != was {
                logger.notice(
                    holds ? "leading: this replica fires the schedule" : "no longer leading", metadata: ["replica": "\(configuration.name)"]
                )
                leaderGauge.record(holds ? 1 : 0)
                settled = [:]
                recorded = holds ? ((try? await FiredTicks(pool: broker.pool, keys: broker.keys).all())?.mapValues(\.tick) ?? [:]) : [:]
            }
            if holds {
                for entry in configuration.entries {
                    await fire(entry, settled: &settled, recorded: recorded[entry.name])
                }
            }
        } while await stopping.nap(step)
        if releaseOnStop && isLeader {
            try? await broker.releaseLease(leaseKey, owner: configuration.name)
            leaderGauge.record(0)
        }
        logger.info("scheduler stopped", metadata: ["replica": "\(configuration.name)"])
    }

    /// Fires what is due for `entry`: while leading, every tick since the last one settled (so a
    /// late wake-up never skips one); on taking over, every tick since the last one a replica
    /// recorded as fired (`recorded`), within the catch-up window — or, with none recorded there,
    /// only the latest tick within it. A tick enqueued twice by two leaders is enqueued once (its
    /// dedupe key).
    private func fire(_ entry: ScheduleEntry, settled: inout [String: Int], recorded: Int?) async {
        let window = Int(configuration.catchUp.components.seconds)
        guard let latest = entry.schedule.latestTick(atOrBefore: configuration.now(), lookingBack: window) else { return }
        var due: [Int] = []
        if let last = settled[entry.name] ?? recorded.flatMap({ $0 >= latest - window && $0 <= latest ? $0 : nil }) {
            var tick = last
            while due.count < 1000, let next = entry.schedule.nextTick(after: tick), next <= latest {
                due.append(next)
                tick = next
            }
        } else {
            due = [latest]
        }
        for tick in due {
            guard await enqueue(entry, tick: tick, window: window) else { return }
            settled[entry.name] = tick
        }
    }

    /// Enqueues one tick's job; true once Redis has it (now or from an earlier attempt).
    private func enqueue(_ entry: ScheduleEntry, tick: Int, window: Int) async -> Bool {
        let dedupe = "scheduler:\(entry.name):\(tick)"
        var job = entry.job
        job.dedupe = dedupe
        let outcome: String
        defer {
            Counter(label: "switchboard_scheduled_jobs_total", dimensions: [("schedule", entry.name), ("outcome", outcome)]).increment()
        }
        do {
            // The key outlives the catch-up window, so no replica can fire the tick again.
            switch try await broker.addGuarded(
                job.envelope(), to: job.queue, dedupeKey: dedupe, ttlSeconds: max(2 * window, 86_400), highWater: 0)
            {
            case .added(let id):
                outcome = "enqueued"
                logger.info(
                    "scheduled job enqueued",
                    metadata: [
                        "schedule": "\(entry.name)", "tick": "\(tick)", "job.id": "\(id)", "job.kind": "\(job.kind)",
                        "queue": "\(job.queue)",
                    ])
                do {
                    try await FiredTicks(pool: broker.pool, keys: broker.keys).record(entry.name, tick: tick, jobID: id)
                } catch {
                    logger.notice(
                        "could not record the fire for switchboard schedules", metadata: ["schedule": "\(entry.name)", "error": "\(error)"])
                }
                return true
            case .duplicate:
                outcome = "already_enqueued"
                return true
            case .full:
                outcome = "full"
                return false
            }
        } catch {
            logger.warning("cannot enqueue a scheduled job; trying again", metadata: ["schedule": "\(entry.name)", "error": "\(error)"])
            outcome = "failed"
            return false
        }
    }
}
