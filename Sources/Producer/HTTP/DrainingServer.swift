import Logging
import ServiceLifecycle
import Synchronization

/// Whether the producer is draining: told to stop, still serving while the load balancer notices.
/// `/readyz` answers 503 `draining` meanwhile, so a health-checking proxy (Traefik's) stops sending
/// new requests here before the listener closes.
public final class DrainState: Sendable {
    private let draining = Atomic<Bool>(false)

    public init() {}

    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    func start() { draining.store(true, ordering: .releasing) }
}

/// Runs the producer's server so that a SIGTERM does not close it at once: for `delay` it keeps
/// accepting and answering (and says `draining` on `/readyz`), while Traefik or Swarm's routing
/// catches up with a task that is going away; only then does the server's own graceful shutdown
/// begin (requests in flight finish within the grace period). A rolling update then drops no
/// webhook: what still arrives during the delay is served, and what arrives after goes to the
/// other replicas.
///
/// The server runs in a service group of its own, started detached so that the role's graceful
/// shutdown does not reach it directly (a nested group would follow its parent's at once); it is
/// told to stop when the delay is over, and cancelled if the role is.
struct DrainingServer: Service {
    let server: ServiceGroup
    let delay: Duration
    let state: DrainState
    let logger: Logger

    func run() async throws {
        let server = server
        let serving = Task.detached { try await server.run() }
        try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await serving.value }
                group.addTask {
                    do {
                        try await gracefulShutdown()
                    } catch {
                        return
                    }
                    state.start()
                    logger.notice("draining: still serving while the load balancer catches up", metadata: ["drain_seconds": "\(delay)"])
                    try? await Task.sleep(for: delay)
                    await server.triggerGracefulShutdown()
                }
                try await group.next()
                try await group.waitForAll()
            }
        } onCancel: {
            serving.cancel()
        }
    }
}
