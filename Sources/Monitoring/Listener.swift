import Logging
import ServiceLifecycle

/// An HTTP server of a role (the producer's routes, a consumer's `/metrics`) as a service whose
/// failure names what could not be served and where: "cannot listen on 0.0.0.0:9090 for /metrics:
/// address already in use" rather than a bare `bind(…)` error. Its group then stops the role's other
/// services and the process exits non-zero with that line, instead of running on without it.
public struct Listener<Server: Service>: Service {
    let server: Server
    let purpose: String
    let address: String

    public init(_ server: Server, serving purpose: String, on host: String, port: Int) {
        self.server = server
        self.purpose = purpose
        self.address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public func run() async throws {
        do {
            try await server.run()
        } catch {
            throw ListenerFailure(description: "cannot listen on \(address) for \(purpose): \(error)")
        }
    }
}

/// Why a role's HTTP server stopped.
public struct ListenerFailure: Error, CustomStringConvertible {
    public let description: String
}
