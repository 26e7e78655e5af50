import Foundation

/// A loopback TCP connection driven byte by byte, for what a well-behaved HTTP client never does:
/// a head and half a body, a body trickled slowly, broken chunk framing, a socket opened and left
/// silent. Every call blocks on a thread of its own (never on Swift's cooperative pool, where a
/// blocked thread would starve an in-process server) and is bounded by a timeout.
public final class RawConnection: @unchecked Sendable {
    // The descriptor never changes, and socket calls on one descriptor are safe from any thread;
    // a test drives one connection from one place at a time.
    private let fd: Int32

    public init(port: Int) throws {
        guard let fd = LoopbackSocket.connect(port: port) else { throw TestFailure("nothing listens on 127.0.0.1:\(port)") }
        self.fd = fd
    }

    deinit {
        Glibc.close(fd)
    }

    public func close() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Sends bytes; false when the peer no longer takes them (closed or reset).
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return false }
            sent += count
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads until one whole response (head and a Content-Length body) is in, or the peer closes,
    /// or `timeout` passes; nil when no complete response came.
    public func readResponse(timeout: Duration = .seconds(10)) async -> LoopbackHTTP.Reply? {
        await onThread { self.readResponseBlocking(timeout: timeout) }
    }

    /// Waits until the peer closes the connection (end of file or a reset); false if it is still
    /// open after `timeout`. Whatever arrives meanwhile is read and dropped.
    public func closedByPeer(timeout: Duration) async -> Bool {
        await onThread {
            let deadline = ContinuousClock.now + timeout
            var buffer = [UInt8](repeating: 0, count: 65536)
            while ContinuousClock.now < deadline {
                guard self.waitReadable(until: deadline) else { return false }
                let count = recv(self.fd, &buffer, buffer.count, 0)
                if count <= 0 { return true }
            }
            return false
        }
    }

    private func readResponseBlocking(timeout: Duration) -> LoopbackHTTP.Reply? {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let reply = try? LoopbackHTTP.parse(received), let length = reply.headers["content-length"].flatMap(Int.init),
                reply.body.count >= length
            {
                return reply
            }
            guard waitReadable(until: deadline) else { return nil }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return try? LoopbackHTTP.parse(received) }
            received += buffer[0..<count]
        }
    }

    private func waitReadable(until deadline: ContinuousClock.Instant) -> Bool {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))) > 0
    }

    private func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }
}
