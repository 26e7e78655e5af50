import Metrics
import Synchronization

/// Counters and timers made once per label set and reused: asking the metrics factory for a
/// handle on every request costs a lock and a lookup in the registry each time. The label sets
/// are few (routes × statuses, sources × outcomes), so the cache stays small.
final class MetricHandles: Sendable {
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: Timer]>([:])

    static let shared = MetricHandles()

    func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = Self.key(label, dimensions)
        return counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions)
            cache[key] = counter
            return counter
        }
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> Timer {
        let key = Self.key(label, dimensions)
        return timers.withLock { cache in
            if let timer = cache[key] { return timer }
            let timer = Timer(label: label, dimensions: dimensions, preferredDisplayUnit: .seconds)
            cache[key] = timer
            return timer
        }
    }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        var key = label
        for (name, value) in dimensions { key += "\u{1}\(name)=\(value)" }
        return key
    }
}
