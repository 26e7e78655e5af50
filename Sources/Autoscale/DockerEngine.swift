import Foundation
import Services

/// The few calls of the Docker Engine API the autoscaler makes (API 1.41, Docker 20.10 and
/// later), over the Engine's Unix socket or a TCP socket proxy: list the services that carry the
/// autoscaling labels, and set one's replicas as `docker service scale` does — the spec read back
/// unchanged but for its replica count, at the version it was read at, so an update made by anyone
/// in between is refused by the Engine rather than undone.
public struct DockerEngine: Sendable {
    /// A Swarm service as the autoscaler sees it.
    public struct Service: Sendable, Equatable {
        public var id: String
        public var name: String
        /// The spec's version, which an update must name.
        public var version: Int
        public var labels: [String: String]
        /// Nil for a global service (not scaled by replicas).
        public var replicas: Int?
        /// `updating`, `paused`, `rollback_started`, … while a rolling update is under way; nil when none is.
        public var updateState: String?
        /// The spec as the Engine gave it, sent back with only the replicas changed.
        var spec: JSONValue
    }

    /// Where the Engine listens: `unix:///var/run/docker.sock` or `tcp://proxy:2375`.
    public let host: String
    let http: HTTPClient
    let timeout: Duration

    static let api = "v1.41"

    /// `DOCKER_HOST` as Docker's own clients read it (unset: the local socket). Throws naming what
    /// is wrong with it.
    public init(host: String?, http: HTTPClient = HTTPClient(connections: 2), timeout: Duration = .seconds(10)) throws {
        let given = host ?? "unix:///var/run/docker.sock"
        guard given.hasPrefix("unix:///") || given.hasPrefix("tcp://") || given.hasPrefix("http://") else {
            throw ConfigurationError("DOCKER_HOST '\(given)' is neither unix:///path nor tcp://host:port")
        }
        self.host = given
        self.http = http
        self.timeout = timeout
    }

    func request(_ method: String, _ path: String, body: [UInt8] = []) -> HTTPClient.Request {
        var request: HTTPClient.Request
        if host.hasPrefix("unix://") {
            request = HTTPClient.Request(method, "http://docker/\(Self.api)\(path)", body: body, timeout: timeout)
            request.unixSocket = String(host.dropFirst("unix://".count))
        } else {
            let base = host.hasPrefix("tcp://") ? "http://" + host.dropFirst("tcp://".count) : host
            request = HTTPClient.Request(method, "\(base)/\(Self.api)\(path)", body: body, timeout: timeout)
        }
        if !body.isEmpty { request.headers.append(("Content-Type", "application/json")) }
        request.maxResponseBytes = 16 << 20
        return request
    }

    /// The services carrying `label` (and, when given, in stack `namespace`).
    public func services(label: String, namespace: String?) async throws -> [Service] {
        var labels = [label]
        if let namespace { labels.append("com.docker.stack.namespace=\(namespace)") }
        let filters = String(decoding: try JSONEncoder().encode(["label": labels]), as: UTF8.self)
        let response = try await http.sendChecked(request("GET", "/services?filters=" + PercentEncoding.component(filters)))
        guard case .array(let items) = try JSONDecoder().decode(JSONValue.self, from: Data(response.body)) else {
            throw DockerEngineError("the Engine's service list is not a JSON array")
        }
        return items.compactMap(Self.service)
    }

    static func service(_ item: JSONValue) -> Service? {
        guard case .object(let fields) = item, let id = fields["ID"]?.string, case .object(let version)? = fields["Version"],
            let index = version["Index"]?.integer, let spec = fields["Spec"], case .object(let specFields) = spec,
            let name = specFields["Name"]?.string
        else { return nil }
        var labels: [String: String] = [:]
        if case .object(let given)? = specFields["Labels"] { for (key, value) in given { labels[key] = value.string } }
        var replicas: Int?
        if case .object(let mode)? = specFields["Mode"], case .object(let replicated)? = mode["Replicated"] {
            replicas = replicated["Replicas"]?.integer ?? 1
        }
        var state: String?
        if case .object(let status)? = fields["UpdateStatus"] { state = status["State"]?.string }
        return Service(id: id, name: name, version: index, labels: labels, replicas: replicas, updateState: state, spec: spec)
    }

    /// Sets `service`'s replicas to `replicas`, at the version it was read at.
    public func scale(_ service: Service, to replicas: Int) async throws {
        guard case .object(var spec) = service.spec, case .object(var mode)? = spec["Mode"],
            case .object(var replicated)? = mode["Replicated"]
        else { throw DockerEngineError("\(service.name) is not a replicated service") }
        replicated["Replicas"] = .integer(replicas)
        mode["Replicated"] = .object(replicated)
        spec["Mode"] = .object(mode)
        let body = Array(try JSONEncoder().encode(JSONValue.object(spec)))
        _ = try await http.sendChecked(
            request("POST", "/services/\(PercentEncoding.component(service.id))/update?version=\(service.version)", body: body))
    }
}

/// The Engine answered something the autoscaler cannot use.
public struct DockerEngineError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
