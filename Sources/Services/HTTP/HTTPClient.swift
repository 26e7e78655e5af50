import CCurl
import Foundation
import Synchronization
import Threads

/// The one HTTP client under every service client, over libcurl.
///
/// A few worker threads each own one curl easy handle — a C handle confined to its thread, the
/// way each Redis connection is — so connections to a service are kept alive and reused from one
/// request to the next, and no blocking call ever runs on Swift's cooperative pool. Each request
/// has its own timeout and a bound on the response size; cancelling the calling task aborts the
/// transfer. Answers of any status are returned (`send`) or turned into the shared error model
/// (`sendChecked`, `HTTPFailure`). A request that names its service passes the `gate` first, if
/// there is one: the deployment's limits for that service hold whoever sends it.
public final class HTTPClient: Sendable {
    private let transfers = BlockingQueue<Transfer>()
    private let gate: (any ServiceGate)?

    /// Starts `connections` workers (the most requests in flight at once).
    public init(
        connections: Int = 4, connectTimeout: Duration = .seconds(5), userAgent: String = "switchboard", gate: (any ServiceGate)? = nil
    ) {
        self.gate = gate
        CurlLibrary.initialize()
        for index in 0..<max(1, connections) {
            let worker = Thread { [transfers] in
                CurlWorker(connectTimeout: connectTimeout, userAgent: userAgent).run(transfers)
            }
            worker.name = "switchboard-http-\(index)"
            worker.start()
        }
    }

    deinit {
        transfers.close()
    }

    /// Sends a request; returns the response whatever its status. Throws `HTTPFailure` only when
    /// there is no usable response (transport error, timeout, oversized answer, cancellation).
    public func send(_ request: HTTPClient.Request) async throws -> HTTPClient.Response {
        try await gated(request) { try await self.transfer(request) }
    }

    /// Runs `call` inside the gate when the request names a service and there is a gate.
    private func gated(_ request: HTTPClient.Request, _ call: () async throws -> HTTPClient.Response) async throws -> HTTPClient.Response {
        guard let gate, let service = request.service else { return try await call() }
        let pass = try await gate.enter(service, priority: CallPriority.current, lease: request.timeout + .seconds(10))
        do {
            let response = try await call()
            await gate.leave(pass, response: response)
            return response
        } catch let failure as HTTPFailure where failure.status != nil {
            await gate.leave(pass, response: failure.response)
            throw failure
        } catch {
            await gate.leave(pass, response: nil)
            throw error
        }
    }

    private func transfer(_ request: HTTPClient.Request) async throws -> HTTPClient.Response {
        let cancelled = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfers.hand(Transfer(request: request, cancelled: cancelled, stream: nil, continuation: continuation))
            }
        } onCancel: {
            cancelled.set()
        }
    }

    /// Sends a request and hands a 2xx answer's body to `receive` piece by piece as it arrives, with
    /// at most `buffer` bytes waiting in between: a download of any size holds bounded memory. The
    /// returned response carries status and headers (its body empty); an answer outside 2xx is
    /// read whole (up to the request's `maxResponseBytes`) and thrown as `HTTPFailure`. When
    /// `receive` throws, the transfer is stopped and the error rethrown.
    public func download(_ request: HTTPClient.Request, buffer: Int = 4 << 20, into receive: ([UInt8]) async throws -> Void) async throws
        -> HTTPClient.Response
    {
        try await gated(request) { try await streamed(request, buffer: buffer, into: receive) }
    }

    private func streamed(_ request: HTTPClient.Request, buffer: Int, into receive: ([UInt8]) async throws -> Void) async throws
        -> HTTPClient.Response
    {
        let stream = BodyStream(capacity: buffer)
        let cancelled = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: HTTPClient.Response.self) { group in
                group.addTask {
                    try await withCheckedThrowingContinuation { continuation in
                        self.transfers.hand(Transfer(request: request, cancelled: cancelled, stream: stream, continuation: continuation))
                    }
                }
                do {
                    while let piece = await stream.next() { try await receive(piece) }
                } catch {
                    stream.cancel()
                    cancelled.set()
                    _ = try? await group.next()
                    throw error
                }
                let response = try await group.next()!
                guard (200..<300).contains(response.status) else { throw HTTPFailure.from(response, request: Transfer.describe(request)) }
                return response
            }
        } onCancel: {
            stream.cancel()
            cancelled.set()
        }
    }

    /// Whether this client would fetch `url`: http and https only, so a URL a webhook names can
    /// never make it read a local file (`file://`) or speak another protocol.
    public static func isWebURL(_ url: String) -> Bool {
        let scheme = url.prefix(8).lowercased()
        return scheme.hasPrefix("http://") || scheme.hasPrefix("https://")
    }

    /// Sends a request and throws `HTTPFailure` for any answer outside 2xx.
    public func sendChecked(_ request: HTTPClient.Request) async throws -> HTTPClient.Response {
        let response = try await send(request)
        guard (200..<300).contains(response.status) else {
            throw HTTPFailure.from(response, request: Transfer.describe(request))
        }
        return response
    }
}

/// A request waiting for a worker, with the caller to answer.
struct Transfer: Sendable {
    let request: HTTPClient.Request
    let cancelled: CancellationFlag
    /// Where a 2xx body goes as it arrives (`download`); nil: collected whole.
    let stream: BodyStream?
    let continuation: CheckedContinuation<HTTPClient.Response, any Error>

    /// `POST https://host/path`: method and URL without query or credentials, for messages.
    static func describe(_ request: HTTPClient.Request) -> String {
        guard var components = URLComponents(string: request.url) else { return request.method }
        components.query = nil
        components.user = nil
        components.password = nil
        return "\(request.method) \(components.string ?? request.url)"
    }
}

extension BlockingQueue<Transfer> {
    /// Hands `transfer` to a worker, or answers it at once when the client is closed.
    func hand(_ transfer: Transfer) {
        guard !push(transfer) else { return }
        transfer.continuation.resume(
            throwing: HTTPFailure(kind: .cancelled, request: Transfer.describe(transfer.request), detail: "the HTTP client is closed"))
    }
}

final class CancellationFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

enum CurlLibrary {
    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    static func initialize() { _ = initialized }
}
