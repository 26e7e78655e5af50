import Foundation
import Redis
import Services
import Synchronization

/// A failure raised by the test support code, with a message saying what went wrong.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A value under a lock, for test helpers shared between threads.
public final class LockedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    public init(_ value: Value) { mutex = Mutex(value) }
    public var value: Value { mutex.withLock { $0 } }
    public func set(_ value: Value) { mutex.withLock { $0 = value } }
    public func take<T>() -> Value where Value == T? {
        mutex.withLock { value in
            defer { value = nil }; return value
        }
    }
    public func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// Waits for a condition with a bound: polls every `every` until it holds or `timeout` passes.
/// Returns whether it held, so the test asserts on it rather than sleeping.
public func eventually(timeout: Duration = .seconds(10), every: Duration = .milliseconds(20), _ condition: () async throws -> Bool)
    async rethrows -> Bool
{
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        // A cancelled test's sleep returns at once: stop rather than spin until the deadline.
        do { try await Task.sleep(for: every) } catch { return false }
    }
}

/// Waits (up to 30 s) until a GET of `url` answers 200: a server started as a child is ready.
/// Gives up at once, answering false, when `alive` says the child has exited.
public func answers(_ url: String, while alive: () -> Bool = { true }) async -> Bool {
    let http = HTTPClient(connections: 1)
    let ended = await eventually(timeout: .seconds(30), every: .milliseconds(100)) {
        guard alive() else { return true }
        return (try? await http.send(HTTPClient.Request("GET", url, timeout: .seconds(2))))?.status == 200
    }
    return ended && alive()
}

/// Free loopback ports and port checks.
public enum FreePort {
    /// A port that was free a moment ago (bound to port 0, read back, released).
    public static func find() throws -> Int {
        let (fd, port) = try bindLoopback()
        close(fd)
        return port
    }

    /// A loopback socket bound to a port of its own choosing (not listening), and that port.
    static func bindLoopback() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw TestFailure("bind() failed")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    public static func isListening(_ port: Int) -> Bool {
        guard let fd = LoopbackSocket.connect(port: port) else { return false }
        close(fd)
        return true
    }
}

/// A TCP connection to a loopback port.
public enum LoopbackSocket {
    /// The connected descriptor (the caller closes it), or nil when nothing listens. A connect cut
    /// short by a signal (the suite starts and reaps processes by the dozen: SIGCHLD) or by a
    /// momentary shortage is tried again on a new socket; only a refusal means nothing listens.
    public static func connect(port: Int) -> Int32? {
        for _ in 0..<5 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if connected == 0 { return fd }
            let failure = errno
            close(fd)
            if failure == ECONNREFUSED { return nil }
        }
        return nil
    }
}

/// A GET for checking a listener. Its blocking exchange runs on a thread of its own: probing a
/// process that is starting under load can wait seconds for an answer, and a wait on Swift's
/// cooperative pool (two threads here) stalled every test in the run with it.
public enum HTTPProbe {
    /// Returns the status code and body, or nil when nothing answers.
    public static func get(port: Int, path: String) async -> (status: Int, body: String)? {
        guard let reply = try? await LoopbackHTTP.send(port: port, method: "GET", path: path, timeout: 5) else { return nil }
        return (reply.status, reply.text)
    }
}

extension RedisValue {
    /// An HGETALL reply read as field → integer.
    public var integerHash: [String: Int] {
        Dictionary(pairs.compactMap { pair in pair.value.integer.map { (pair.key, $0) } }, uniquingKeysWith: { _, last in last })
    }

    /// An HGETALL reply read as field → text.
    public var stringHash: [String: String] {
        Dictionary(pairs.compactMap { pair in pair.value.string.map { (pair.key, $0) } }, uniquingKeysWith: { _, last in last })
    }
}

/// A loopback port something listens on (and never answers), held for as long as this lives: for
/// testing a server that cannot have the port it was given.
public final class ListeningPort: Sendable {
    public let port: Int
    private let fd: Int32

    public init() throws {
        (fd, port) = try FreePort.bindLoopback()
        guard listen(fd, 1) == 0 else {
            close(fd)
            throw TestFailure("listen() failed")
        }
    }

    deinit {
        close(fd)
    }
}

/// A loopback port on which nothing listens, held for as long as this lives: connecting is refused,
/// and no server another test starts can take the port meanwhile (a port merely "found free" can be).
public final class ClosedPort: Sendable {
    public let port: Int
    private let fd: Int32

    public init() throws {
        (fd, port) = try FreePort.bindLoopback()
    }

    deinit {
        close(fd)
    }
}
