import NIOCore
import NIOPosix

/// Runs the process's Swift tasks on the event loops that carry its Redis connections (and its
/// HTTP server), instead of Swift's own thread pool beside them: a task that writes a command on
/// its loop's connection does so without a thread switch, and the reply resumes it on the same
/// thread — no hop there and back per round trip. Installed (or not) once, first thing in `main`.
///
/// The price: a task that blocks its thread blocks that loop's I/O too (nothing in Switchboard
/// does: libcurl, child processes and pipes have threads of their own), and tasks stay on the loop
/// that started them, so a consumer's jobs share one thread. Measured (README, Performance): single
/// enqueues gain about a third, a busy consumer loses about a quarter of its throughput — so it is
/// off unless asked for.
public enum ConcurrencyOnEventLoops {
    /// Installs NIO's loops as the global executor when `SWITCHBOARD_TASKS_ON_EVENT_LOOPS=1`;
    /// whether they run the tasks now.
    @discardableResult
    public static func install(environment: [String: String]) -> Bool {
        guard environment["SWITCHBOARD_TASKS_ON_EVENT_LOOPS"] == "1" else { return false }
        return NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
