import Foundation
import Hummingbird

/// A Docker Engine that speaks the two calls the autoscaler makes (API 1.41) on a Unix socket, as
/// the real one does: `GET /v1.41/services?filters={"label":[…]}` and
/// `POST /v1.41/services/{id}/update?version=N` with the whole spec. It keeps its services'
/// replicas and versions, refuses an update at a stale version as the Engine does ("update out of
/// sequence"), and records every request; `hang` makes it answer nothing for a minute.
public final class FakeDockerEngine: Sendable {
    public struct Service: Sendable {
        public var id: String
        public var name: String
        public var labels: [String: String]
        public var replicas: Int
        public var version = 10
        public var updating = false

        public init(name: String, labels: [String: String], replicas: Int) {
            self.id = "svc" + String(name.hashValue.magnitude, radix: 36)
            self.name = name
            self.labels = labels
            self.replicas = replicas
        }
    }

    public let socket: String
    let state: LockedValue<[Service]>
    public let hang = LockedValue(false)
    /// Each update's service and replicas, in order.
    public let updates = LockedValue<[(String, Int)]>([])
    private let service: LockedValue<FakeService?> = LockedValue(nil)

    public init(_ services: [Service]) async throws {
        socket = FileManager.default.temporaryDirectory.appendingPathComponent("engine-\(UUID().uuidString.prefix(8)).sock").path
        state = LockedValue(services)
        let state = self.state
        let hang = self.hang
        let updates = self.updates
        service.set(
            try await FakeService(unixSocket: socket) { received in
                if hang.value { try? await Task.sleep(for: .seconds(60)) }
                return Self.answer(received, state: state, updates: updates)
            })
    }

    deinit { try? FileManager.default.removeItem(atPath: socket) }

    public var requests: [FakeService.Received] { service.value?.requests ?? [] }
    public var services: [Service] { state.value }
    public func replicas(_ name: String) -> Int? { state.value.first { $0.name == name }?.replicas }
    public func change(_ body: @Sendable (inout [Service]) -> Void) { state.withLock(body) }

    static func answer(_ received: FakeService.Received, state: LockedValue<[Service]>, updates: LockedValue<[(String, Int)]>) -> Response {
        if received.method == "GET" && received.path == "/v1.41/services" {
            let query = received.query.removingPercentEncoding ?? ""
            let wanted = (query.hasPrefix("filters=") ? jsonFields(Array(query.dropFirst(8).utf8))["label"] as? [String] : nil) ?? []
            let listed = state.value.filter { service in
                wanted.allSatisfy { filter in
                    let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
                    return parts.count == 1 ? service.labels[parts[0]] != nil : service.labels[parts[0]] == parts[1]
                }
            }
            let items = listed.map { service -> [String: Any] in
                var item: [String: Any] = [
                    "ID": service.id, "Version": ["Index": service.version],
                    "Spec": [
                        "Name": service.name, "Labels": service.labels, "Mode": ["Replicated": ["Replicas": service.replicas]],
                        "TaskTemplate": ["ContainerSpec": ["Image": "switchboard:1", "Args": ["consumer"]], "ForceUpdate": 0],
                        "UpdateConfig": ["Parallelism": 1, "MaxFailureRatio": 0.5],
                    ],
                ]
                if service.updating { item["UpdateStatus"] = ["State": "updating"] }
                return item
            }
            let body = try! JSONSerialization.data(withJSONObject: items)
            return FakeService.answer(.ok, String(decoding: body, as: UTF8.self), headers: [.contentType: "application/json"])
        }
        let parts = received.path.split(separator: "/").map(String.init)
        if received.method == "POST", parts.count == 4, parts[0] == "v1.41", parts[1] == "services", parts[3] == "update" {
            let version = received.query.hasPrefix("version=") ? Int(received.query.dropFirst(8)) : nil
            let spec = jsonFields(received.body)
            let replicas = ((spec["Mode"] as? [String: Any])?["Replicated"] as? [String: Any])?["Replicas"] as? Int
            let template = spec["TaskTemplate"] as? [String: Any]
            return state.withLock { services in
                guard let index = services.firstIndex(where: { $0.id == parts[2] }) else {
                    return FakeService.answer(.notFound, #"{"message":"service \#(parts[2]) not found"}"#)
                }
                guard version == services[index].version else {
                    return FakeService.answer(.internalServerError, #"{"message":"update out of sequence"}"#)
                }
                guard let replicas, (template?["ContainerSpec"] as? [String: Any])?["Image"] as? String == "switchboard:1",
                    spec["Name"] as? String == services[index].name
                else { return FakeService.answer(.badRequest, #"{"message":"the spec was not sent back whole"}"#) }
                services[index].replicas = replicas
                services[index].version += 1
                updates.withLock { $0.append((services[index].name, replicas)) }
                return FakeService.answer(.ok, #"{"Warnings":null}"#, headers: [.contentType: "application/json"])
            }
        }
        return FakeService.answer(.notFound, #"{"message":"page not found"}"#)
    }
}
