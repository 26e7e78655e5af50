import Foundation
import Services

/// moto's S3 server (PyPI `moto[server]`, the S3 LocalStack runs), on a free loopback port with
/// one bucket: an S3 written by others, which reads requests as they are sent — a body typed as a
/// form is read as a form — where our own `FakeS3` checks only what we thought of.
public final class MotoS3Server: Sendable {
    public let url: String
    private let child: ChildProcess

    /// Whether `python3` here can run it (scripts/install-deps.sh installs it).
    public static let available: Bool = {
        (try? ChildProcess.runBlocking("/usr/bin/env", ["python3", "-c", "import moto.server"]))?.status == 0
    }()

    /// The port is found free before moto binds it, so another test's server may take it first;
    /// moto then exits, and is started again on another port (up to five times).
    public init(bucket: String) async throws {
        var tried: [String] = []
        for _ in 0..<5 {
            let port = try FreePort.find()
            let child = try ChildProcess("/usr/bin/env", ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)])
            let url = "http://127.0.0.1:\(port)"
            guard await answers(url + "/moto-api/", while: { child.isRunning }) else {
                child.signal(SIGKILL)
                tried.append(url)
                continue
            }
            self.child = child
            self.url = url
            try await makeBucket(bucket)
            return
        }
        throw TestFailure("moto's S3 server did not answer on any of \(tried)")
    }

    /// Another bucket on the same server (moto checks no signature: a plain PUT makes it).
    public func makeBucket(_ bucket: String) async throws {
        let made = try await HTTPClient(connections: 1).send(HTTPClient.Request("PUT", "\(url)/\(bucket)", timeout: .seconds(5)))
        guard made.status == 200 else { throw TestFailure("moto did not make bucket \(bucket): \(made.status)") }
    }

    /// The object's bytes as moto holds them (a plain GET: moto checks no signature).
    public func object(_ bucket: String, _ key: String) async throws -> [UInt8]? {
        let reply = try await HTTPClient(connections: 1).send(
            HTTPClient.Request("GET", "\(url)/\(bucket)/\(key)", timeout: .seconds(10), maxResponseBytes: 256 << 20))
        return reply.status == 200 ? reply.body : nil
    }
}
