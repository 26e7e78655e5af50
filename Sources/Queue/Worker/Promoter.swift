import Logging
import Redis

/// Moves retries whose time has come from each queue's delayed set back onto its stream.
/// Every replica runs one; the promote script removes each member in the step that re-adds it,
/// so several promoters never double a job.
struct Promoter: Sendable {
    let broker: Broker
    let queues: [String]
    let interval: Duration
    let logger: Logger
    /// Called once per pass (the consumer samples its in-flight gauge here).
    let onTick: @Sendable () -> Void

    /// Sleeps `duration` in short naps, so a stopping consumer never waits out a whole interval.
    private func nap(_ duration: Duration, isStopping: @Sendable () -> Bool) async {
        let end = ContinuousClock.now + duration
        while !isStopping(), ContinuousClock.now < end {
            try? await Task.sleep(for: min(end - ContinuousClock.now, .milliseconds(100)))
        }
    }

    /// Runs until `isStopping()` says so.
    func run(isStopping: @Sendable () -> Bool) async {
        var delay = Backoff()
        while !isStopping() {
            onTick()
            var busy = false
            do {
                for queue in queues {
                    let moved = try await broker.promote(queue, now: Clock.unixMilliseconds())
                    if moved >= 500 { busy = true }
                    if moved > 0 { logger.debug("promoted due retries", metadata: ["queue": "\(queue)", "jobs": "\(moved)"]) }
                }
                delay.reset()
                if !busy { await nap(interval, isStopping: isStopping) }
            } catch {
                logger.warning("promoting due retries failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay.nextDelay())
            }
        }
    }
}
