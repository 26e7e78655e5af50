import Foundation
import Services

/// Qdrant's REST paths over qdrant-client's local mode (PyPI `qdrant-client`, written by Qdrant's
/// authors; `Tests/QdrantLocal/qdrant_rest.py`), on a free loopback port: the filters Qdrant itself
/// applies — `must`, `must_not`, `should`, nested filters, `is_empty` — so a leak a filter lets
/// through shows, where our `FakeQdrant` knows only what we thought of.
public final class LocalQdrant: Sendable {
    public let url: String
    public let apiKey: String
    private let child: ChildProcess

    /// Whether `python3` here has qdrant-client (scripts/install-deps.sh installs it).
    public static let available: Bool = {
        (try? ChildProcess.runBlocking("/usr/bin/env", ["python3", "-c", "import qdrant_client"]))?.status == 0
    }()

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("QdrantLocal/qdrant_rest.py").path

    /// The server binds a port the kernel picks and says which: a port found free beforehand could
    /// be taken meanwhile by another test's stand-in, whose answers this one's callers would read.
    public init(apiKey: String = "qd") async throws {
        self.apiKey = apiKey
        let child = try ChildProcess(
            "/usr/bin/env", ["python3", Self.script, "--port", "0", "--api-key", apiKey], stdout: .capture, mergeStandardError: true)
        self.child = child
        let marker = "listening on 127.0.0.1:"
        guard await eventually(timeout: .seconds(30), { child.standardOutput.contains(marker) }),
            let line = child.standardOutput.split(separator: "\n").first(where: { $0.hasPrefix(marker) }),
            let port = Int(line.dropFirst(marker.count))
        else {
            throw TestFailure("qdrant-client's local mode did not say where it listens within 30 s: \(child.standardOutput.suffix(2000))")
        }
        url = "http://127.0.0.1:\(port)"
        guard await answers(url + "/_requests") else {
            throw TestFailure("qdrant-client's local mode did not answer on \(url) within 30 s: \(child.standardOutput.suffix(2000))")
        }
    }

    /// Every request received so far: method, path and JSON body.
    public func requests() async throws -> [[String: Any]] {
        let reply = try await HTTPClient(connections: 1).send(HTTPClient.Request("GET", url + "/_requests", timeout: .seconds(5)))
        return (try JSONSerialization.jsonObject(with: Data(reply.body)) as? [[String: Any]]) ?? []
    }
}
