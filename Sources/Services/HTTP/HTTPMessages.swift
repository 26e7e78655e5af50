import Foundation

extension HTTPClient {
    /// One request to an external service. The body is sent as is; `maxResponseBytes` bounds what is
    /// read back (a larger answer fails rather than filling memory).
    public struct Request: Sendable {
        public var method: String
        public var url: String
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var timeout: Duration
        public var maxResponseBytes: Int
        /// The service this request goes to, whose limits it is held to; nil: not limited.
        public var service: ExternalService?
        /// A Unix socket the request is sent over instead of the network (the Docker Engine's);
        /// the URL still names the path and the `Host`.
        public var unixSocket: String?

        public init(
            _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8] = [],
            timeout: Duration = .seconds(30), maxResponseBytes: Int = 8 << 20, service: ExternalService? = nil
        ) {
            self.service = service
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
            self.timeout = timeout
            self.maxResponseBytes = maxResponseBytes
        }
    }

    /// What came back: status, headers (names lowercased, in order) and body.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(status: Int, headers: [(String, String)], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        /// The last value of a header, by case-insensitive name.
        public func header(_ name: String) -> String? {
            let lowered = name.lowercased()
            return headers.last { $0.0 == lowered }?.1
        }

        public var text: String { String(decoding: body, as: UTF8.self) }
    }
}

extension Duration {
    /// Whole milliseconds, for curl's `_MS` options.
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
