import Foundation
import Hummingbird
import NIOCore

/// A stand-in for an external service: a real HTTP server on a loopback port of its own, which
/// records every request it receives (method, path, query, headers, body, the client's port, so
/// tests can tell reused connections) and answers through the test's handler.
public final class FakeService: Sendable {
    public struct Received: Sendable {
        public var method: String
        public var path: String
        public var query: String
        /// Names lowercased; `host` included.
        public var headers: [String: String]
        public var body: [UInt8]
        public var clientPort: Int
        /// When the request arrived (its body read).
        public var arrivedAt: ContinuousClock.Instant

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Context: RequestContext {
        public var coreContext: CoreRequestContextStorage
        let clientPort: Int

        public init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            clientPort = source.channel.remoteAddress?.port ?? 0
        }
    }

    /// Records the request, then lets the handler answer; every path and method goes through it.
    struct Capture: RouterMiddleware {
        let service: FakeService
        let delay: Duration
        let handler: @Sendable (Received) async -> Response

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var body = try await request.body.collect(upTo: 64 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            // HTTP/1's Host header arrives as the request's authority.
            if let authority = request.head.authority { headers["host"] = authority }
            let received = Received(
                method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                headers: headers, body: body.readBytes(length: body.readableBytes) ?? [], clientPort: context.clientPort,
                arrivedAt: .now)
            service.log.withLock { $0.append(received) }
            if delay > .zero { try? await Task.sleep(for: delay) }
            let response = await handler(received)
            service.handling.withLock { $0.append((received.arrivedAt, .now)) }
            return response
        }
    }

    let log = LockedValue<[Received]>([])
    /// When each request arrived and when its answer was ready: the time spent "in the service".
    let handling = LockedValue<[(arrived: ContinuousClock.Instant, answered: ContinuousClock.Instant)]>([])
    private let port = LockedValue<Int?>(nil)
    private let task = LockedValue<Task<Void, any Error>?>(nil)

    /// `delay`: how long the service takes before it answers, as a real one would (benchmarks).
    /// `host` and `port`: where it listens (a free loopback port unless the stand-ins of a
    /// deployment test need a fixed one on every interface).
    /// `unixSocket`: listen on that Unix socket instead (the Docker Engine's way).
    public init(
        delay: Duration = .zero, host: String = "127.0.0.1", port wanted: Int = 0, unixSocket: String? = nil,
        _ handler: @escaping @Sendable (Received) async -> Response
    ) async throws {
        let router = Router(context: Context.self)
        router.add(middleware: Capture(service: self, delay: delay, handler: handler))
        let port = self.port
        let app = Application(
            router: router, configuration: .init(address: unixSocket.map { .unixDomainSocket(path: $0) } ?? .hostname(host, port: wanted)),
            onServerRunning: { channel in port.set(channel.localAddress?.port ?? 0) })
        let ended = LockedValue<String?>(nil)
        task.set(
            Task {
                do { try await app.run() } catch { ended.set("\(error)"); throw error }
                ended.set("it stopped")
            })
        // A machine busy starting eighty suites at once can take a while to run the server's task:
        // wait for it to listen, or to fail saying why.
        guard await eventually(timeout: .seconds(30), { port.value != nil || ended.value != nil }), port.value != nil else {
            throw TestFailure("the fake did not start: \(ended.value ?? "not listening after 30 s")")
        }
    }

    deinit {
        task.value?.cancel()
    }

    public var url: String { "http://127.0.0.1:\(port.value ?? 0)" }
    public var requests: [Received] { log.value }
    /// For each answered request, when it arrived and when its answer was ready.
    public var handlingTimes: [(arrived: ContinuousClock.Instant, answered: ContinuousClock.Instant)] { handling.value }

    public static func answer(_ status: HTTPResponse.Status, _ body: String = "", headers: HTTPFields = [:]) -> Response {
        Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// A JSON object's fields, or empty when the bytes are not one.
public func jsonFields(_ bytes: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]) ?? [:]
}
