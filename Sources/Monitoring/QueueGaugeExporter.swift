import Metrics
import Queue
import Redis
import Synchronization

/// Every queue's health as Prometheus gauges, read from Redis when `/metrics` is scraped, so every
/// replica (consumer, scheduler, console) shows the same values and a dashboard takes any one:
///
/// - `switchboard_queue_depth{queue}`: entries in the stream, waiting and in flight
/// - `switchboard_queue_pending{queue}`: delivered, not settled
/// - `switchboard_queue_lag{queue}`: waiting, not yet delivered
/// - `switchboard_queue_oldest_waiting_age_seconds{queue}`: how long the oldest waiting job has waited
/// - `switchboard_queue_delayed{queue}`: retries waiting for their time
/// - `switchboard_queue_dead{queue}`: dead letters
/// - `switchboard_queue_consumers{queue}`: consumers in the queue's group
/// - `switchboard_queue_paused{queue}`: 1 when an operator paused it
/// - `switchboard_redis_up`: 1 when the last read reached Redis, else 0 (the gauges above then keep
///   their last values)
/// - `switchboard_queue_gauges_read_seconds`: how long the last read took
///
/// A read costs two round trips whatever the backlog (`Inspector.gauges`); scrapes closer together
/// than `minimumInterval` share one read.
public final class QueueGaugeExporter: Sendable {
    private let inspector: Inspector
    private let known: [String]
    private let minimumInterval: Duration
    private let lastRead = Mutex<ContinuousClock.Instant?>(nil)
    private let redisUp = Gauge(label: "switchboard_redis_up")
    private let readSeconds = Gauge(label: "switchboard_queue_gauges_read_seconds")

    /// `known`: queues shown even before anything used them (the build's), beside those Redis knows.
    public init(broker: Broker, known: [String], minimumInterval: Duration = .seconds(1)) {
        inspector = Inspector(broker: broker)
        self.known = known
        self.minimumInterval = minimumInterval
    }

    /// Reads the gauges unless another scrape did within `minimumInterval`.
    public func refresh() async {
        let now = ContinuousClock.now
        let due = lastRead.withLock { last -> Bool in
            if let last, now - last < minimumInterval { return false }
            last = now
            return true
        }
        guard due else { return }
        do {
            let queues = try await inspector.queueNames(including: known)
            let gauges = try await inspector.gauges(queues)
            for queue in gauges {
                let label = [("queue", queue.queue)]
                Gauge(label: "switchboard_queue_depth", dimensions: label).record(queue.depth)
                Gauge(label: "switchboard_queue_pending", dimensions: label).record(queue.pending)
                Gauge(label: "switchboard_queue_lag", dimensions: label).record(queue.lag)
                Gauge(label: "switchboard_queue_oldest_waiting_age_seconds", dimensions: label).record(
                    Double(queue.oldestWaitingMilliseconds) / 1000)
                Gauge(label: "switchboard_queue_delayed", dimensions: label).record(queue.delayed)
                Gauge(label: "switchboard_queue_dead", dimensions: label).record(queue.dead)
                Gauge(label: "switchboard_queue_consumers", dimensions: label).record(queue.consumers)
                Gauge(label: "switchboard_queue_paused", dimensions: label).record(queue.paused ? 1 : 0)
            }
            redisUp.record(1)
        } catch {
            redisUp.record(0)
        }
        let took = ContinuousClock.now - now
        readSeconds.record(Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
    }
}
