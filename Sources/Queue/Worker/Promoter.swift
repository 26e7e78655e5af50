import Logging
import Redis

/// Moves retries whose time has come from each queue's delayed set back onto its stream.
/// Every replica runs one; the promote script removes each member in the step that re-adds it,
/// so several promoters never double a job. A member that is no envelope is quarantined in the
/// dead letters by the script; a queue whose promotion fails does not hold up the others.
struct Promoter: Sendable {
    let broker: Broker
    let queues: [String]
    let interval: Duration
    let metrics: QueueMetrics
    let logger: Logger
    /// Called once per pass (the consumer samples its in-flight gauge here).
    let onTick: @Sendable () -> Void

    /// Runs until `stopping` is raised or the task is cancelled.
    func run(stopping: StopSignal) async {
        var backoff = Backoff()
        while stopping.goOn {
            onTick()
            var busy = false
            var failed = false
            for queue in queues {
                do {
                    let promoted = try await broker.promote(queue, now: WallClock.unixMilliseconds())
                    if promoted.taken >= 500 { busy = true }
                    if promoted.quarantined > 0 {
                        metrics.queue(queue).settled("dead", count: promoted.quarantined)
                        logger.error(
                            "malformed retries quarantined in the dead letters",
                            metadata: ["queue": "\(queue)", "jobs": "\(promoted.quarantined)"])
                    }
                } catch {
                    failed = true
                    logger.warning("promoting due retries failed", metadata: ["queue": "\(queue)", "error": "\(error)"])
                }
            }
            if failed {
                guard await stopping.nap(backoff.nextDelay()) else { return }
            } else {
                backoff.reset()
                if !busy { guard await stopping.nap(interval) else { return } }
            }
        }
    }
}
