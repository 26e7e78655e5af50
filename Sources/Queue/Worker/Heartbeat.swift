import Logging
import Synchronization

/// The entries this process is running, per queue, so the heartbeat can renew their leases.
final class InFlightEntries: Sendable {
    private let entries = Mutex<[String: Set<String>]>([:])

    func started(_ queue: String, _ entryID: String) {
        entries.withLock { _ = $0[queue, default: []].insert(entryID) }
    }

    func finished(_ queue: String, _ entryID: String) {
        entries.withLock { _ = $0[queue]?.remove(entryID) }
    }

    var snapshot: [String: [String]] {
        entries.withLock { $0.mapValues(Array.init) }
    }
}

/// Keeps a live consumer's running jobs from looking abandoned: every third of the visibility
/// timeout it renews the lease (resets the idle time) of each entry still in flight here. Only
/// entries of a consumer that stopped beating (killed, frozen, cut off from Redis) go stale and
/// are reclaimed, so the visibility timeout can be short without cutting long jobs in two.
struct Heartbeat: Sendable {
    let broker: Broker
    let consumer: String
    let inFlight: InFlightEntries
    let interval: Duration
    let logger: Logger

    /// Beats until `isDone()`; the consumer stops it only after its last job has finished.
    func run(isDone: @Sendable () -> Bool) async {
        var nextBeat = ContinuousClock.now + interval
        while !isDone() {
            // Short naps, so the consumer's shutdown never waits for a whole interval.
            try? await Task.sleep(for: min(interval, .milliseconds(100)))
            guard ContinuousClock.now >= nextBeat else { continue }
            nextBeat = ContinuousClock.now + interval
            for (queue, ids) in inFlight.snapshot where !ids.isEmpty {
                do {
                    _ = try await broker.heartbeat(queue, consumer: consumer, entryIDs: ids)
                } catch {
                    logger.warning("heartbeat failed; running jobs may be reclaimed by others", metadata: ["queue": "\(queue)", "error": "\(error)"])
                }
            }
        }
    }
}
