import Foundation

/// The Hetzner Cloud API for snapshots (docs/contracts.md §7): create a server's image, follow the action
/// that makes it, list images and servers by label selector (every page), delete an image. Every
/// request is held to the `hetzner` limit; its `RateLimit-*` headers pause the service for every
/// replica when the hour's budget runs out.
public struct HetznerClient: Sendable {
    public let baseURL: String
    private let token: String
    private let http: HTTPClient
    private let timeout: Duration

    public init(baseURL: String = "https://api.hetzner.cloud/v1", token: String, http: HTTPClient, timeout: Duration = .seconds(30)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.http = http
        self.timeout = timeout
    }

    public struct Image: Sendable, Decodable, Equatable {
        public struct Origin: Sendable, Decodable, Equatable {
            public var id: Int
            public var name: String?
        }

        public var id: Int
        public var type: String?
        /// `creating`, `available`, `unavailable`.
        public var status: String
        public var description: String?
        /// ISO 8601, as Hetzner writes it.
        public var created: String?
        public var labels: [String: String]?
        public var image_size: Double?
        public var created_from: Origin?
    }

    public struct Action: Sendable, Decodable, Equatable {
        public struct Failure: Sendable, Decodable, Equatable {
            public var code: String
            public var message: String
        }

        public var id: Int
        /// `running`, `success`, `error`.
        public var status: String
        public var progress: Int?
        public var error: Failure?
    }

    /// `POST /servers/{id}/actions/create_image`: a snapshot of the server, with its description and labels.
    public func createImage(server: Int, description: String, labels: [String: String]) async throws -> (image: Image, action: Action) {
        struct Body: Encodable {
            var type = "snapshot"
            var description: String
            var labels: [String: String]
        }
        struct Answer: Decodable {
            var image: Image
            var action: Action
        }
        let request = try self.request(
            "POST", "/servers/\(server)/actions/create_image", json: Body(description: description, labels: labels))
        let answer = try ServiceJSON.decode(Answer.self, from: try await http.sendChecked(request), request: Transfer.describe(request))
        return (answer.image, answer.action)
    }

    /// `GET /actions/{id}`.
    public func action(_ id: Int) async throws -> Action {
        struct Answer: Decodable { var action: Action }
        let request = request("GET", "/actions/\(id)")
        return try ServiceJSON.decode(Answer.self, from: try await http.sendChecked(request), request: Transfer.describe(request)).action
    }

    /// Every snapshot whose labels match `selector` (`k=v,k2=v2`), all pages.
    public func snapshots(labelSelector selector: String) async throws -> [Image] {
        struct Answer: Decodable { var images: [Image]; var meta: Meta? }
        return try await pages { page in
            let request = request(
                "GET", "/images?type=snapshot&label_selector=\(PercentEncoding.component(selector))&page=\(page)&per_page=50")
            let answer = try ServiceJSON.decode(Answer.self, from: try await http.sendChecked(request), request: Transfer.describe(request))
            return (answer.images, answer.meta?.pagination?.next_page)
        }
    }

    /// The ids of every server whose labels match `selector`, all pages.
    public func servers(labelSelector selector: String) async throws -> [Int] {
        struct Server: Decodable { var id: Int }
        struct Answer: Decodable { var servers: [Server]; var meta: Meta? }
        return try await pages { page in
            let request = request("GET", "/servers?label_selector=\(PercentEncoding.component(selector))&page=\(page)&per_page=50")
            let answer = try ServiceJSON.decode(Answer.self, from: try await http.sendChecked(request), request: Transfer.describe(request))
            return (answer.servers.map(\.id), answer.meta?.pagination?.next_page)
        }
    }

    /// `DELETE /images/{id}`; an image already gone counts as deleted.
    public func deleteImage(_ id: Int) async throws {
        let request = request("DELETE", "/images/\(id)")
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) || response.status == 404 else {
            throw HTTPFailure.from(response, request: Transfer.describe(request))
        }
    }

    // MARK: Plumbing

    struct Meta: Decodable {
        struct Pagination: Decodable { var next_page: Int? }
        var pagination: Pagination?
    }

    /// Follows `next_page` from page 1; at most 1,000 pages, so a service that never stops paging cannot hold a job.
    private func pages<Item>(_ fetch: (Int) async throws -> ([Item], Int?)) async throws -> [Item] {
        var items: [Item] = []
        var page = 1
        for _ in 0..<1000 {
            let (found, next) = try await fetch(page)
            items += found
            guard let next, next > page else { return items }
            page = next
        }
        return items
    }

    private func request(_ method: String, _ path: String) -> HTTPClient.Request {
        HTTPClient.Request(method, baseURL + path, headers: [("Authorization", "Bearer \(token)")], timeout: timeout, service: .hetzner)
    }

    private func request<Body: Encodable>(_ method: String, _ path: String, json: Body) throws -> HTTPClient.Request {
        HTTPClient.Request(
            method, baseURL + path, headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
            body: try ServiceJSON.body(json), timeout: timeout, service: .hetzner)
    }
}
