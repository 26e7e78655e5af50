import Logging

/// Keeps a live consumer's running jobs from looking abandoned: every third of the visibility
/// timeout it renews the lease (resets the idle time) of each entry it still holds. Only entries
/// of a consumer that stopped beating (killed, frozen, cut off from Redis) go stale and are
/// reclaimed, so the visibility timeout can be short without cutting long jobs in two.
struct Heartbeat: Sendable {
    let broker: Broker
    let consumer: String
    let inFlight: InFlightEntries
    let interval: Duration
    let logger: Logger

    /// Beats until `done` is raised (after the consumer's last job) or the task is cancelled.
    func run(until done: StopSignal) async {
        while await done.nap(interval) {
            for (queue, ids) in inFlight.snapshot where !ids.isEmpty {
                do {
                    _ = try await broker.heartbeat(queue, consumer: consumer, entryIDs: ids)
                } catch {
                    logger.warning(
                        "heartbeat failed; running jobs may be reclaimed by others", metadata: ["queue": "\(queue)", "error": "\(error)"])
                }
            }
        }
    }
}
