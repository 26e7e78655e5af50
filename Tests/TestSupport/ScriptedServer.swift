import Foundation

/// A TCP server on a loopback port of its own that answers each connection as the test scripts
/// it — a reply dribbled a byte at a time, half a reply and then silence, bytes that are no
/// protocol at all — to test a client against what a real server rarely does. Each connection
/// is served on a thread of its own; `script` gets the connected descriptor and must not close it
/// (`hangUp` ends it): descriptors are closed only by the threads that own them, once nobody else
/// can touch them, so a number the kernel hands out again is never shut by mistake.
public final class ScriptedServer: Sendable {
    public let port: Int
    private let listener: Int32
    /// The connections open now, and whether the server is stopping.
    private let state = LockedValue<(open: Set<Int32>, stopping: Bool)>(([], false))

    public init(_ script: @escaping @Sendable (_ connection: Int32) -> Void) throws {
        let (fd, port) = try FreePort.bindLoopback()
        guard listen(fd, 16) == 0 else {
            close(fd)
            throw TestFailure("listen() failed")
        }
        self.port = port
        listener = fd
        let state = self.state
        Thread.detachNewThread {
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 {
                    if state.value.stopping || errno != EINTR {
                        close(fd)
                        return
                    }
                    continue
                }
                let accepted = state.withLock { value -> Bool in
                    guard !value.stopping else { return false }
                    value.open.insert(connection)
                    return true
                }
                guard accepted else {
                    close(connection)
                    continue
                }
                Thread.detachNewThread {
                    script(connection)
                    // Forgotten first, then closed: a stopping server never shuts a reused number.
                    state.withLock { _ = $0.open.remove(connection) }
                    close(connection)
                }
            }
        }
    }

    deinit {
        // Shut, never close, what other threads own: they close it themselves.
        state.withLock { value in
            value.stopping = true
            shutdown(listener, Int32(SHUT_RDWR))
            for connection in value.open { shutdown(connection, Int32(SHUT_RDWR)) }
        }
    }

    /// Reads whatever the client sent (at most 64 KiB), or nil when it closed.
    public static func read(_ connection: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(buffer.prefix(count)) : nil
    }

    /// Writes `bytes` whole.
    public static func write(_ connection: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Ends the connection as a server that goes away would (the descriptor is closed once the script returns).
    public static func hangUp(_ connection: Int32) {
        shutdown(connection, Int32(SHUT_RDWR))
    }
}
