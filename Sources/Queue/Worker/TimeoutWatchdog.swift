import Synchronization

/// Enforces job timeouts for a whole consumer with one timer loop instead of a timer per job.
///
/// A running handler registers its task and deadline; every `tick` the watchdog cancels the tasks
/// past their deadline and remembers that it did, so the runner can tell a time-out (a retryable
/// failure) from a shutdown (the job is abandoned and left pending) — and a handler that finished
/// right at its deadline from one that was cut off: a result that came back is a result.
final class TimeoutWatchdog: Sendable {
    /// A handle on a running handler's task. `UnsafeCurrentTask` may only be used while its task
    /// runs; the watchdog calls `cancel()` only under its lock while the entry is registered, and a
    /// handler unregisters (taking the same lock) before its task can finish. Hence the unchecked
    /// conformance: the lock, not the type, makes the cross-thread use safe.
    private struct RunningTask: @unchecked Sendable {
        let task: UnsafeCurrentTask
        let deadline: ContinuousClock.Instant
    }

    private struct State {
        var running: [Int: RunningTask] = [:]
        var expired: Set<Int> = []
        var nextToken = 0
    }

    private let state = Mutex(State())
    let tick: Duration

    init(tick: Duration = .milliseconds(50)) {
        self.tick = tick
    }

    /// Runs `body`, cancelling the current task once `timeout` has passed. Returns its result and
    /// whether the watchdog cancelled it (the task then stays cancelled: what follows must not rely
    /// on waiting in it).
    func run<T>(timeout: Duration, _ body: () async -> T) async -> (value: T, timedOut: Bool) {
        let deadline = ContinuousClock.now + timeout
        let token = withUnsafeCurrentTask { task -> Int? in
            guard let task else { return nil }
            return state.withLock { state -> Int in
                state.nextToken &+= 1
                state.running[state.nextToken] = RunningTask(task: task, deadline: deadline)
                return state.nextToken
            }
        }
        let value = await body()
        guard let token else { return (value, false) }
        let timedOut = state.withLock { state -> Bool in
            state.running.removeValue(forKey: token)
            return state.expired.remove(token) != nil
        }
        return (value, timedOut)
    }

    /// Cancels overdue handlers every `tick` until `done` is raised or the task is cancelled.
    func run(until done: StopSignal) async {
        repeat {
            let now = ContinuousClock.now
            state.withLock { state in
                for (token, running) in state.running where running.deadline <= now {
                    state.expired.insert(token)
                    state.running.removeValue(forKey: token)
                    running.task.cancel()
                }
            }
        } while await done.nap(tick)
    }
}
