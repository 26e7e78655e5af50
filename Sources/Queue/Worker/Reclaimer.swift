import Logging

/// Recovers work from consumers that died or hung: claims entries pending longer than the queue's
/// visibility timeout (XAUTOCLAIM), buries those delivered more than the poison limit, and removes
/// consumers that have been silent for a long time and own nothing any more.
///
/// One per queue; the fetcher calls `claim` between reads (never once the consumer is stopping)
/// so claimed entries count against the same concurrency limit as fresh ones. The sweep of dead
/// consumers runs after a claim and never costs it its entries: a failed sweep is only logged.
struct Reclaimer: Sendable {
    let broker: Broker
    let queue: String
    let consumer: String
    let visibilityTimeout: Duration
    let poisonLimit: Int
    let metrics: QueueMetrics
    let logger: Logger
    /// A consumer idle this long with nothing pending is removed from the group.
    var idleConsumerLimit: Duration { max(visibilityTimeout * 3, .seconds(5)) }
    /// How often to look for stale entries: a fraction of the visibility timeout, within bounds.
    var interval: Duration { min(max(visibilityTimeout / 4, .milliseconds(200)), .seconds(15)) }

    private(set) var cursor = "0-0"
    private(set) var nextRun = ContinuousClock.now
    private var nextConsumerSweep = ContinuousClock.now

    init(
        broker: Broker, queue: String, consumer: String, visibilityTimeout: Duration, poisonLimit: Int, metrics: QueueMetrics,
        logger: Logger
    ) {
        self.broker = broker
        self.queue = queue
        self.consumer = consumer
        self.visibilityTimeout = visibilityTimeout
        self.poisonLimit = poisonLimit
        self.metrics = metrics
        self.logger = logger
    }

    var isDue: Bool { ContinuousClock.now >= nextRun }

    /// Claims up to `count` stale entries for this consumer; they are now delivered to it.
    mutating func claim(count: Int) async throws -> [StreamEntry] {
        let result = try await broker.reclaim(
            queue, consumer: consumer, visibilityTimeout: visibilityTimeout, count: count, poisonLimit: poisonLimit,
            cursor: cursor, now: WallClock.unixMilliseconds())
        cursor = result.cursor
        // Scan on at once while the cursor says there is more; otherwise wait for the next interval.
        nextRun = cursor == "0-0" ? ContinuousClock.now + interval : ContinuousClock.now
        if result.buried > 0 {
            metrics.queue(queue).settled("dead", count: result.buried)
            logger.error(
                "poison messages dead-lettered",
                metadata: ["queue": "\(queue)", "jobs": "\(result.buried)", "poison_limit": "\(poisonLimit)"])
        }
        if !result.entries.isEmpty {
            metrics.queue(queue).reclaimed.increment(by: result.entries.count)
            logger.notice("reclaimed stale entries", metadata: ["queue": "\(queue)", "jobs": "\(result.entries.count)"])
        }
        if ContinuousClock.now >= nextConsumerSweep {
            nextConsumerSweep = ContinuousClock.now + idleConsumerLimit / 2
            do {
                let removed = try await broker.removeIdleConsumers(queue, idle: idleConsumerLimit, keeping: consumer)
                if !removed.isEmpty {
                    logger.notice(
                        "removed dead consumers", metadata: ["queue": "\(queue)", "consumers": "\(removed.joined(separator: ","))"])
                }
            } catch {
                logger.warning("sweeping dead consumers failed", metadata: ["queue": "\(queue)", "error": "\(error)"])
            }
        }
        return result.entries
    }
}
