import Dispatch
import Foundation
import ServiceLifecycle
import Synchronization

/// SIGTERM and SIGINT while a role starts up (its Redis checks, its listeners) — before its
/// service group handles them — end the process at once with exit 0: nothing is in flight yet,
/// and Swarm stopping a task that is still starting must not see it killed by the signal.
/// Once handed over, a signal asks the group for its graceful shutdown, so none that arrives
/// while the group sets up its own handling is lost.
public final class StartUpStop: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)
    private let sources: Mutex<[any DispatchSourceSignal]>

    public init() {
        var made: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            // The signal's default action would end the process before any handler ran.
            signal(number, SIG_IGN)
            made.append(DispatchSource.makeSignalSource(signal: number, queue: .global()))
        }
        sources = Mutex(made)
        sources.withLock { sources in
            for source in sources {
                source.setEventHandler { [self] in stopRequested() }
                source.resume()
            }
        }
    }

    deinit {
        sources.withLock { sources in
            for source in sources { source.cancel() }
        }
    }

    /// From now on a signal is the group's graceful shutdown.
    public func handOver(to group: ServiceGroup) {
        self.group.withLock { $0 = group }
    }

    private func stopRequested() {
        guard let group = group.withLock({ $0 }) else { exit(0) }
        Task { await group.triggerGracefulShutdown() }
    }
}
