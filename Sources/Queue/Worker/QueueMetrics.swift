import Metrics
import Synchronization

/// The engine's metrics, with fixed low-cardinality labels (queue, kind, outcome; never a job id).
///
/// - `switchboard_jobs_total{queue,outcome}`: settled deliveries (done, handed_off, retried,
///   throttled, later, dead, abandoned)
/// - `switchboard_job_duration_seconds{queue,kind}`: handler run time
/// - `switchboard_jobs_in_flight`: jobs holding a slot in this process (sampled)
/// - `switchboard_retries_total{queue}`, `switchboard_dead_letters_total{queue}`
/// - `switchboard_reclaimed_total{queue}`: entries claimed from dead or hung consumers
/// Handles are created once per queue (and per kind on first use), so the hot path does no
/// factory lookup.
final class QueueMetrics: Sendable {
    /// The handles of one queue.
    final class PerQueue: Sendable {
        let queue: String
        private let outcomes: [String: Counter]
        let retries: Counter
        let dead: Counter
        let reclaimed: Counter
        private let durations = Mutex<[String: Metrics.Timer]>([:])

        init(queue: String) {
            self.queue = queue
            var outcomes: [String: Counter] = [:]
            for outcome in ["done", "handed_off", "retried", "throttled", "later", "dead", "abandoned"] {
                outcomes[outcome] = Counter(label: "switchboard_jobs_total", dimensions: [("queue", queue), ("outcome", outcome)])
            }
            self.outcomes = outcomes
            retries = Counter(label: "switchboard_retries_total", dimensions: [("queue", queue)])
            dead = Counter(label: "switchboard_dead_letters_total", dimensions: [("queue", queue)])
            reclaimed = Counter(label: "switchboard_reclaimed_total", dimensions: [("queue", queue)])
        }

        func settled(_ outcome: String, count: Int = 1) {
            outcomes[outcome]?.increment(by: count)
            if outcome == "retried" { retries.increment(by: count) }
            if outcome == "dead" { dead.increment(by: count) }
        }

        func duration(kind: String, nanoseconds: Int64) {
            let timer = durations.withLock { timers -> Metrics.Timer in
                if let timer = timers[kind] { return timer }
                let timer = Metrics.Timer(
                    label: "switchboard_job_duration_seconds", dimensions: [("queue", queue), ("kind", kind)],
                    preferredDisplayUnit: .seconds)
                timers[kind] = timer
                return timer
            }
            timer.recordNanoseconds(nanoseconds)
        }
    }

    private let queues: [String: PerQueue]
    private let inFlight = Gauge(label: "switchboard_jobs_in_flight")

    init(queues: [String]) {
        var handles: [String: PerQueue] = [:]
        for queue in queues { handles[queue] = PerQueue(queue: queue) }
        self.queues = handles
    }

    func queue(_ name: String) -> PerQueue {
        queues[name] ?? PerQueue(queue: name)
    }

    func sampleInFlight(_ count: Int) {
        inFlight.record(count)
    }
}
