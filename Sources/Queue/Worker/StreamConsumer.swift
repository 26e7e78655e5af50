import Logging
import Redis
import ServiceLifecycle
import Synchronization

/// The consumer role: reads the configured queues with a bounded number of jobs in flight, runs
/// their handlers, and writes every outcome atomically (docs/design.md, delivery guarantees).
///
/// As a `Service`, `run()` returns after a graceful shutdown: reading stops at once, in-flight jobs
/// get `gracePeriod` to finish, their outcomes and acknowledgements are written, and jobs still
/// running after the grace period are cancelled and given back for another replica to claim at
/// once. Cancelled (another service of its group failed), it stops the same way without the grace.
///
/// Every duty ends on one of three signals or on cancellation, in this order: the fetcher and the
/// promoter when the consumer is `stopping`; jobs still running when the grace is over; the
/// heartbeat and the timeout watchdog once the last job is done; the acknowledger last, once it
/// has written the final acknowledgements.
public final class StreamConsumer: Service, Sendable {
    public let configuration: ConsumerConfiguration
    private let registry: JobRegistry
    private let broker: Broker
    private let logger: Logger
    private let stopping = StopSignal()

    /// A queue named more than once (`--queues a,a`) is read once.
    public init(configuration: ConsumerConfiguration, registry: JobRegistry, broker: Broker, logger: Logger) {
        var configuration = configuration
        var seen: Set<String> = []
        configuration.queues = configuration.queues.filter { seen.insert($0).inserted }
        self.configuration = configuration
        self.registry = registry
        self.broker = broker
        var logger = logger
        logger[metadataKey: "consumer"] = "\(configuration.consumerName)"
        self.logger = logger
    }

    /// Asks the consumer to stop as on SIGTERM (what the graceful shutdown handler calls).
    public func stop() {
        stopping.raise()
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.work()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private func work() async {
        let configuration = configuration
        let registry = registry
        let visibility: [String: Duration] = Dictionary(
            uniqueKeysWithValues: configuration.queues.map {
                ($0, configuration.visibilityTimeout(for: $0, registry: registry))
            })
        let visibilityTimeout: @Sendable (String) -> Duration = {
            visibility[$0] ?? configuration.visibilityTimeout(for: $0, registry: registry)
        }
        let graceOver = StopSignal()
        let jobsDone = StopSignal()
        let limit = ConcurrencyLimit(capacity: configuration.concurrency)
        let metrics = QueueMetrics(queues: configuration.queues)
        let watchdog = TimeoutWatchdog()
        let inFlight = InFlightEntries()
        let acks = AckBatcher(broker: broker, consumer: configuration.consumerName, limit: limit, inFlight: inFlight, logger: logger)
        let writer = OutcomeWriter(
            broker: broker, consumer: configuration.consumerName, acks: acks, limit: limit, inFlight: inFlight, metrics: metrics,
            registry: registry, visibilityTimeout: visibilityTimeout, graceOver: graceOver, logger: logger)
        let runner = JobRunner(registry: registry, configuration: configuration, redis: broker.pool, watchdog: watchdog, logger: logger)
        let fetcher = Fetcher(
            queues: configuration.queues, broker: broker, configuration: configuration, runner: runner, writer: writer, limit: limit,
            metrics: metrics, inFlight: inFlight, visibilityTimeout: visibilityTimeout, logger: logger)
        let promoter = Promoter(
            broker: broker, queues: configuration.queues, interval: configuration.promoteInterval, metrics: metrics, logger: logger,
            onTick: { metrics.sampleInFlight(limit.used) })
        let lastJob = LastJobFinished()
        let heartbeat = Heartbeat(
            broker: broker, consumer: configuration.consumerName, inFlight: inFlight,
            interval: max((visibility.values.min() ?? .seconds(30)) / 3, .milliseconds(50)), logger: logger)
        let stopping = stopping
        let logger = logger

        logger.info(
            "consumer started",
            metadata: [
                "queues": "\(configuration.queues.joined(separator: ","))", "concurrency": "\(configuration.concurrency)",
            ])
        await withDiscardingTaskGroup { duties in
            duties.addTask { await promoter.run(stopping: stopping) }
            duties.addTask { await acks.run(deadline: { lastJob.at.map { $0 + .seconds(5) } }) }
            duties.addTask { await watchdog.run(until: jobsDone) }
            duties.addTask { await heartbeat.run(until: jobsDone) }
            duties.addTask {
                await withTaskGroup(of: Bool.self) { workers in
                    workers.addTask {
                        await fetcher.run(stopping: stopping)
                        return true
                    }
                    workers.addTask {
                        await stopping.wait()
                        try? await Task.sleep(for: configuration.gracePeriod)
                        return false
                    }
                    if await workers.next() == false {
                        let running = inFlight.snapshot.values.reduce(0) { $0 + $1.count }
                        if Task.isCancelled {
                            logger.warning(
                                "consumer cancelled; giving jobs still running back to the queue", metadata: ["in_flight": "\(running)"])
                        } else {
                            logger.warning(
                                "grace period over; giving jobs still running back to the queue",
                                metadata: [
                                    "grace_seconds": "\(configuration.gracePeriod)", "in_flight": "\(running)",
                                ])
                        }
                        graceOver.raise()
                    }
                    workers.cancelAll()
                    await workers.waitForAll()
                }
                lastJob.mark()
                jobsDone.raise()
                acks.finish()
            }
        }
        await leaveGroups()
        logger.info("consumer stopped")
    }
}

extension StreamConsumer {
    /// A clean stop leaves each queue's group, so replicas gone are not listed as consumers; a
    /// queue where this consumer still owns entries (given back at the grace's end, or acks that
    /// could not be written) keeps it until another replica reclaims them and sweeps it.
    fileprivate func leaveGroups() async {
        for queue in configuration.queues {
            do {
                if try await !broker.leaveGroup(queue, consumer: configuration.consumerName) {
                    logger.debug("consumer stays in its group: it owns entries", metadata: ["queue": "\(queue)"])
                }
            } catch {
                logger.warning(
                    "could not leave the consumer group; another replica's sweep removes it later",
                    metadata: [
                        "queue": "\(queue)", "error": "\(error)",
                    ])
            }
        }
    }
}

/// When the consumer's last job finished (nil while jobs may still run): the acknowledger gives
/// up on failing writes five seconds later.
private final class LastJobFinished: Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)
    var at: ContinuousClock.Instant? { instant.withLock { $0 } }
    func mark() { instant.withLock { $0 = ContinuousClock.now } }
}
