import Logging
import Redis

/// The worker loop of one queue: takes free slots, fills them with reclaimed stale entries or new
/// ones, and starts a task per entry that runs the job and writes its outcome. Stops reading when
/// the consumer stops; the caller's task group then waits for the jobs already started.
///
/// The queues of a process share its slots, so an idle queue waits for work (XREADGROUP BLOCK, on a
/// connection of its own) holding one slot only: a burst on one queue can use all the others, and a
/// job arriving on an idle queue starts at once instead of waiting for another queue's blocked read
/// to time out. A process needs at least as many slots as it has queues.
struct QueueFetcher: Sendable {
    let queue: String
    let broker: Broker
    let configuration: ConsumerConfiguration
    let runner: JobRunner
    let writer: OutcomeWriter
    let limit: ConcurrencyLimit
    let metrics: QueueMetrics
    let logger: Logger
    let visibilityTimeout: Duration
    let inFlight: InFlightEntries

    func run(isStopping: @escaping @Sendable () -> Bool) async {
        let client = RedisClient(endpoint: broker.pool.endpoint, name: "fetch-\(queue)", logger: logger)
        defer { client.close() }
        var reclaimer = Reclaimer(
            broker: broker, queue: queue, consumer: configuration.consumerName, visibilityTimeout: visibilityTimeout,
            poisonLimit: configuration.poisonLimit, metrics: metrics, logger: logger)
        var delay = Backoff()
        var groupReady = false
        var pause = PauseCheck(queue: queue, broker: broker)
        let queueMetrics = metrics.queue(queue)
        await withDiscardingTaskGroup { jobs in
            while !isStopping() {
                var slots = await limit.acquire(upTo: min(configuration.concurrency, 1000))
                if slots == 0 { break }
                var entries: [StreamEntry] = []
                do {
                    if try await pause.isPaused() {
                        limit.release(slots)
                        try? await Task.sleep(for: PauseCheck.interval)
                        continue
                    }
                    if !groupReady {
                        try await broker.ensureGroup(queue, consumer: configuration.consumerName)
                        groupReady = true
                    }
                    if reclaimer.isDue {
                        entries = try await reclaimer.claim(count: slots)
                    }
                    if entries.isEmpty && !isStopping() {
                        entries = try await broker.read(queue, consumer: configuration.consumerName, count: slots, block: nil, on: client)
                    }
                    if entries.isEmpty && !isStopping() {
                        limit.release(slots - 1)
                        slots = 1
                        entries = try await broker.read(queue, consumer: configuration.consumerName, count: 1, block: configuration.fetchBlock, on: client)
                    }
                    delay.reset()
                } catch {
                    limit.release(slots)
                    if let error = error as? RedisError, error.serverCode == "NOGROUP" { groupReady = false }
                    logger.warning("fetching jobs failed", metadata: ["queue": "\(queue)", "error": "\(error)"])
                    try? await Task.sleep(for: delay.nextDelay())
                    continue
                }
                limit.release(slots - entries.count)
                for entry in entries {
                    inFlight.started(queue, entry.id)
                    jobs.addTask {
                        let ran = await runner.run(entry, queue: queue)
                        queueMetrics.duration(kind: ran.kind, nanoseconds: ran.nanoseconds)
                        await writer.write(ran.outcome, entryID: entry.id, queue: queue, envelope: ran.envelope)
                        inFlight.finished(queue, entry.id)
                    }
                }
            }
        }
    }
}
