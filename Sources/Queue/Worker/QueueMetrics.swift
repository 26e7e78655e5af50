import Metrics
import Synchronization

/// The engine's metrics, with fixed low-cardinality labels (queue, kind, outcome; never a job id).
///
/// - `switchboard_jobs_total{queue,outcome}`: settled deliveries (done, handed_off, retried, dead, abandoned)
/// - `switchboard_job_duration_seconds{queue,kind}`: handler run time
/// - `switchboard_jobs_in_flight`: jobs holding a slot in this process
/// - `switchboard_retries_total{queue}`, `switchboard_dead_letters_total{queue}`
/// - `switchboard_reclaimed_total{queue}`: entries claimed from dead or hung consumers
/// Metric handles are created once per label set and cached, so the hot path does no factory lookup.
final class QueueMetrics: Sendable {
    private struct Handles {
        var outcomes: [String: Counter] = [:]
        var durations: [String: Metrics.Timer] = [:]
        var retries: [String: Counter] = [:]
        var dead: [String: Counter] = [:]
        var reclaimed: [String: Counter] = [:]
    }

    private let handles = Mutex(Handles())
    let inFlight = Meter(label: "switchboard_jobs_in_flight")

    func settled(queue: String, outcome: String, count: Int = 1) {
        counter(\.outcomes, key: queue + "\u{0}" + outcome) {
            Counter(label: "switchboard_jobs_total", dimensions: [("queue", queue), ("outcome", outcome)])
        }.increment(by: count)
        if outcome == "retried" {
            counter(\.retries, key: queue) { Counter(label: "switchboard_retries_total", dimensions: [("queue", queue)]) }.increment(by: count)
        } else if outcome == "dead" {
            counter(\.dead, key: queue) { Counter(label: "switchboard_dead_letters_total", dimensions: [("queue", queue)]) }.increment(by: count)
        }
    }

    func reclaimed(queue: String, count: Int) {
        counter(\.reclaimed, key: queue) { Counter(label: "switchboard_reclaimed_total", dimensions: [("queue", queue)]) }
            .increment(by: count)
    }

    func duration(queue: String, kind: String, nanoseconds: Int64) {
        let key = queue + "\u{0}" + kind
        let timer = handles.withLock { handles -> Metrics.Timer in
            if let timer = handles.durations[key] { return timer }
            let timer = Metrics.Timer(label: "switchboard_job_duration_seconds", dimensions: [("queue", queue), ("kind", kind)], preferredDisplayUnit: .seconds)
            handles.durations[key] = timer
            return timer
        }
        timer.recordNanoseconds(nanoseconds)
    }

    private func counter(_ path: WritableKeyPath<Handles, [String: Counter]>, key: String, make: () -> Counter) -> Counter {
        handles.withLock { handles in
            if let counter = handles[keyPath: path][key] { return counter }
            let counter = make()
            handles[keyPath: path][key] = counter
            return counter
        }
    }
}
