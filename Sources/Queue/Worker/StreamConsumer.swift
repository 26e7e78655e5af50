import Logging
import Redis
import ServiceLifecycle
import Synchronization

/// The consumer role: reads the configured queues with a bounded number of jobs in flight, runs
/// their handlers, and writes every outcome atomically (DESIGN.md, delivery guarantees).
///
/// As a `Service`, `run()` returns after a graceful shutdown: reading stops at once, in-flight jobs
/// get `gracePeriod` to finish, their outcomes and acknowledgements are written, and jobs still
/// running after the grace period are cancelled and left pending for another replica to claim.
/// On stop, the promoter and the fetchers stop at once; the heartbeat and the timeout watchdog keep
/// serving the jobs still running and stop after the last one; the acknowledger stops last, once it
/// has written the final acknowledgements.
public final class StreamConsumer: Service, Sendable {
    public let configuration: ConsumerConfiguration
    private let registry: JobRegistry
    private let broker: Broker
    private let logger: Logger
    private let stopping = Mutex(StopState())

    private struct StopState {
        var stopping = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public init(configuration: ConsumerConfiguration, registry: JobRegistry, broker: Broker, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.broker = broker
        var logger = logger
        logger[metadataKey: "consumer"] = "\(configuration.consumerName)"
        self.logger = logger
    }

    /// Asks the consumer to stop as on SIGTERM (what the graceful shutdown handler calls).
    public func stop() {
        let waiters = stopping.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopping = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var isStopping: Bool { stopping.withLock { $0.stopping } }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.work()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private func work() async {
        if let warning = try? await RedisHealth.evictionWarning(broker.pool.client) {
            logger.critical("\(warning)")
        }
        if configuration.concurrency < configuration.queues.count {
            // Each idle queue waits for work holding one slot; with fewer slots than queues, a queue
            // without one notices its jobs only when another's wait ends (up to the fetch block).
            logger.warning("fewer slots than queues: jobs may wait up to the fetch block to start",
                           metadata: ["concurrency": "\(configuration.concurrency)", "queues": "\(configuration.queues.count)"])
        }
        let limit = ConcurrencyLimit(capacity: configuration.concurrency)
        let metrics = QueueMetrics(queues: configuration.queues)
        let watchdog = TimeoutWatchdog()
        let acks = AckBatcher(broker: broker, limit: limit, logger: logger)
        let writer = OutcomeWriter(broker: broker, acks: acks, limit: limit, metrics: metrics, registry: registry, logger: logger)
        let runner = JobRunner(registry: registry, configuration: configuration, redis: broker.pool, watchdog: watchdog, logger: logger)
        let promoter = Promoter(
            broker: broker, queues: configuration.queues, interval: configuration.promoteInterval, logger: logger,
            onTick: { metrics.sampleInFlight(limit.used) })
        let lastJob = LastJobFinished()
        let inFlight = InFlightEntries()
        let shortestVisibility = configuration.queues.map { configuration.visibilityTimeout(for: $0, registry: registry) }.min() ?? .seconds(30)
        let heartbeat = Heartbeat(broker: broker, consumer: configuration.consumerName, inFlight: inFlight,
                                  interval: max(shortestVisibility / 3, .milliseconds(50)), logger: logger)
        let isStopping: @Sendable () -> Bool = { self.isStopping }

        logger.info("consumer started", metadata: [
            "queues": "\(configuration.queues.joined(separator: ","))", "concurrency": "\(configuration.concurrency)",
        ])
        await withDiscardingTaskGroup { duties in
            duties.addTask { await promoter.run(isStopping: isStopping) }
            duties.addTask { await acks.run(deadline: { lastJob.at.map { $0 + .seconds(5) } }) }
            duties.addTask { await watchdog.run() }
            duties.addTask { await heartbeat.run(isDone: { lastJob.at != nil }) }
            duties.addTask {
                await withTaskGroup(of: Bool.self) { workers in
                    workers.addTask {
                        await withDiscardingTaskGroup { fetchers in
                            for queue in self.configuration.queues {
                                let fetcher = QueueFetcher(
                                    queue: queue, broker: self.broker, configuration: self.configuration, runner: runner, writer: writer,
                                    limit: limit, metrics: metrics, logger: self.logger,
                                    visibilityTimeout: self.configuration.visibilityTimeout(for: queue, registry: self.registry),
                                    inFlight: inFlight)
                                fetchers.addTask { await fetcher.run(isStopping: isStopping) }
                            }
                        }
                        return true
                    }
                    workers.addTask {
                        await self.waitUntilStopping()
                        try? await Task.sleep(for: self.configuration.gracePeriod)
                        return false
                    }
                    if await workers.next() == false {
                        self.logger.warning("grace period over; abandoning jobs still running (they stay pending)", metadata: [
                            "grace_seconds": "\(self.configuration.gracePeriod)", "in_flight": "\(limit.used)",
                        ])
                    }
                    workers.cancelAll()
                    await workers.waitForAll()
                }
                watchdog.stop()
                lastJob.mark()
                acks.finish()
            }
        }
        logger.info("consumer stopped")
    }

    private func waitUntilStopping() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let already = stopping.withLock { state -> Bool in
                    if state.stopping { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if already { continuation.resume() }
            }
        } onCancel: {
            self.stop()
        }
    }
}

/// When the consumer's last job finished (nil while jobs may still run): the heartbeat stops then,
/// and the acknowledger gives up on failing writes five seconds later.
private final class LastJobFinished: Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)
    var at: ContinuousClock.Instant? { instant.withLock { $0 } }
    func mark() { instant.withLock { $0 = ContinuousClock.now } }
}
