import Foundation
import HTTPTypes
import Hummingbird

/// A small Hetzner Cloud API (docs/contracts.md §7) for snapshots: servers with labels, images, and
/// `create_image` actions that run for `pollsToFinish` looks before they succeed (or fail, for the
/// servers in `failing`). Lists filter by label selector (`k=v,…`) and page by `per_page`; every
/// answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and the requests
/// numbered in `rateLimited` are answered 429 `rate_limit_exceeded`. 401 without the token.
public final class FakeHetzner: Sendable {
    public struct Image: Sendable {
        public var id: Int
        public var status: String
        public var description: String
        public var created: String
        public var labels: [String: String]
        public var server: Int?

        public init(
            id: Int, status: String = "available", description: String = "", created: String, labels: [String: String], server: Int? = nil
        ) {
            self.id = id
            self.status = status
            self.description = description
            self.created = created
            self.labels = labels
            self.server = server
        }
    }

    public struct Action: Sendable {
        public var id: Int
        public var image: Int
        public var server: Int
        public var looks = 0
        public var status = "running"

        public init(id: Int, image: Int, server: Int) {
            self.id = id
            self.image = image
            self.server = server
        }
    }

    public struct State: Sendable {
        public var servers: [Int: [String: String]]
        public var images: [Int: Image]
        public var actions: [Int: Action] = [:]
        public var deleted: [Int] = []
        public var created: [(server: Int, description: String, labels: [String: String])] = []
        public var requests = 0
        public var nextID = 90_000
    }

    public let state: LockedValue<State>
    let token: String
    let pollsToFinish: Int
    let failing: Set<Int>
    let rateLimited: Set<Int>
    let imageSize: Double
    public private(set) nonisolated(unsafe) var service: FakeService!

    public init(
        token: String, servers: [Int: [String: String]], images: [Image] = [], pollsToFinish: Int = 3, failing: Set<Int> = [],
        rateLimited: Set<Int> = [], imageSize: Double = 1.5
    ) async throws {
        self.imageSize = imageSize
        self.token = token
        self.pollsToFinish = pollsToFinish
        self.failing = failing
        self.rateLimited = rateLimited
        state = LockedValue(State(servers: servers, images: Dictionary(uniqueKeysWithValues: images.map { ($0.id, $0) })))
        service = try await FakeService { [unowned self] received in self.handle(received) }
    }

    public var url: String { service.url }
    public var requests: [FakeService.Received] { service.requests }

    static func matches(_ labels: [String: String], _ selector: String) -> Bool {
        selector.split(separator: ",").allSatisfy { term in
            let parts = term.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? labels[parts[0]] == parts[1] : labels[String(term)] != nil
        }
    }

    static func query(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }

    static func json(_ object: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
    }

    func imageJSON(_ image: Image) -> [String: Any] {
        var object: [String: Any] = [
            "id": image.id, "type": "snapshot", "status": image.status, "description": image.description,
            "created": image.created, "labels": image.labels, "image_size": imageSize,
        ]
        if let server = image.server { object["created_from"] = ["id": server, "name": "server-\(server)"] }
        return object
    }

    func actionJSON(_ action: Action) -> [String: Any] {
        let failed = action.status == "error"
        return [
            "id": action.id, "command": "create_image", "status": action.status, "progress": action.status == "running" ? 40 : 100,
            "started": "2026-11-29T02:30:00+00:00", "finished": action.status == "running" ? NSNull() : "2026-11-29T02:31:00+00:00",
            "resources": [["id": action.server, "type": "server"]],
            "error": failed ? ["code": "server_error", "message": "snapshot could not be created"] : NSNull(),
        ] as [String: Any]
    }

    func page(_ items: [[String: Any]], key: String, query: [String: String]) -> Response {
        let perPage = max(1, Int(query["per_page"] ?? "") ?? 25)
        let page = max(1, Int(query["page"] ?? "") ?? 1)
        let slice = Array(items.dropFirst((page - 1) * perPage).prefix(perPage))
        let last = max(1, (items.count + perPage - 1) / perPage)
        let pagination: [String: Any] = [
            "page": page, "per_page": perPage, "previous_page": page > 1 ? page - 1 : NSNull(),
            "next_page": page < last ? page + 1 : NSNull(), "last_page": last, "total_entries": items.count,
        ]
        return answer(.ok, Self.json([key: slice, "meta": ["pagination": pagination]]))
    }

    func answer(_ status: HTTPResponse.Status, _ body: String = "") -> Response {
        let remaining = state.value.requests % 3600
        return FakeService.answer(
            status, body,
            headers: [
                .contentType: "application/json", HTTPField.Name("RateLimit-Limit")!: "3600",
                HTTPField.Name("RateLimit-Remaining")!: String(3599 - remaining),
                HTTPField.Name("RateLimit-Reset")!: String(Int(Date().timeIntervalSince1970) + 1),
            ])
    }

    func error(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        answer(status, Self.json(["error": ["code": code, "message": message, "details": [:] as [String: Any]]]))
    }

    func handle(_ received: FakeService.Received) -> Response {
        let number = state.withLock { state -> Int in
            state.requests += 1
            return state.requests
        }
        guard received.headers["authorization"] == "Bearer \(token)" else {
            return error(.unauthorized, "unauthorized", "unable to authenticate")
        }
        if rateLimited.contains(number) {
            return FakeService.answer(
                .tooManyRequests,
                Self.json(["error": ["code": "rate_limit_exceeded", "message": "limit of 3600 requests per hour reached"]]),
                headers: [
                    .contentType: "application/json", HTTPField.Name("RateLimit-Limit")!: "3600",
                    HTTPField.Name("RateLimit-Remaining")!: "0",
                    HTTPField.Name("RateLimit-Reset")!: String(Int(Date().timeIntervalSince1970) + 2),
                ])
        }
        let segments: [String] = received.path.split(separator: "/").map(String.init)
        let start = segments.firstIndex { ["servers", "images", "actions"].contains($0) } ?? segments.count
        let parts = Array(segments[start...])
        let query = Self.query(received.query)
        switch (received.method, parts.first ?? "", parts.count) {
        case ("GET", "servers", 1):
            let servers = state.value.servers.filter { Self.matches($0.value, query["label_selector"] ?? "") }.keys.sorted()
            return page(
                servers.map { ["id": $0, "name": "server-\($0)", "labels": state.value.servers[$0] ?? [:]] }, key: "servers", query: query)
        case ("POST", "servers", 4) where parts[2] == "actions" && parts[3] == "create_image":
            guard let server = Int(parts[1]), state.value.servers[server] != nil else {
                return error(.notFound, "not_found", "server not found")
            }
            let body = jsonFields(received.body)
            guard body["type"] as? String == "snapshot", let description = body["description"] as? String,
                let labels = body["labels"] as? [String: String]
            else { return error(.badRequest, "invalid_input", "invalid input") }
            let (image, action) = state.withLock { state -> (Image, Action) in
                state.nextID += 2
                let image = Image(
                    id: state.nextID, status: "creating", description: description, created: Self.now(), labels: labels, server: server)
                let action = Action(id: state.nextID + 1, image: image.id, server: server)
                state.images[image.id] = image
                state.actions[action.id] = action
                state.created.append((server, description, labels))
                return (image, action)
            }
            return answer(.created, Self.json(["image": imageJSON(image), "action": actionJSON(action)]))
        case ("GET", "actions", 2):
            guard let id = Int(parts[1]) else { return error(.notFound, "not_found", "action not found") }
            let action = state.withLock { state -> Action? in
                guard var action = state.actions[id] else { return nil }
                action.looks += 1
                if action.status == "running" && action.looks >= pollsToFinish {
                    action.status = failing.contains(action.server) ? "error" : "success"
                    if action.status == "success" {
                        state.images[action.image]?.status = "available"
                    } else {
                        state.images[action.image] = nil
                    }
                }
                state.actions[id] = action
                return action
            }
            guard let action else { return error(.notFound, "not_found", "action not found") }
            return answer(.ok, Self.json(["action": actionJSON(action)]))
        case ("GET", "images", 1):
            guard query["type"] == "snapshot" else { return error(.badRequest, "invalid_input", "test expects type=snapshot") }
            let images = state.value.images.values.filter { Self.matches($0.labels, query["label_selector"] ?? "") }.sorted {
                $0.id < $1.id
            }
            return page(images.map(imageJSON), key: "images", query: query)
        case ("DELETE", "images", 2):
            guard let id = Int(parts[1]), state.withLock({ $0.images.removeValue(forKey: id) }) != nil else {
                return error(.notFound, "not_found", "image not found")
            }
            state.withLock { $0.deleted.append(id) }
            return FakeService.answer(.noContent)
        default:
            return error(.notFound, "not_found", "no such route in the fake")
        }
    }

    static func now() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}
