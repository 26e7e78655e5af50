import Foundation
import Synchronization

/// Everything a child writes to one pipe, read to end of file by a plain thread of its own (a
/// blocking read never runs on Swift's cooperative pool), keeping at most the last `limit` bytes:
/// a child that writes without end costs bounded memory, and an error message — the end of what a
/// failing tool says — is kept.
public final class PipeCapture: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var finished = false
    }

    private let state = Mutex(State())

    /// Takes ownership of `fd` and closes it at end of file.
    public init(fd: Int32, limit: Int = .max) {
        let reader = Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                state.withLock { state in
                    state.bytes += chunk[0..<count]
                    if state.bytes.count > limit { state.bytes.removeFirst(state.bytes.count - limit) }
                }
            }
            close(fd)
            state.withLock { $0.finished = true }
        }
        reader.start()
    }

    public var text: String { state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }
    /// Whether the pipe reached end of file (every writer closed it).
    public var finished: Bool { state.withLock { $0.finished } }

    /// Waits (bounded) for end of file; false on time-out.
    public func waitFinished(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !finished {
            guard ContinuousClock.now < deadline, (try? await Task.sleep(for: .milliseconds(2))) != nil else { return finished }
        }
        return true
    }
}

/// A pipe's bytes handed to an async reader piece by piece, with at most `buffer` bytes waiting:
/// a plain thread does the blocking reads and waits while the reader is behind, so a child writing
/// gigabytes (`pg_dump`) is slowed to the reader's pace instead of filling memory.
public enum PipeStream {
    /// Reads `fd` to end of file, handing each piece to `receive`; closes `fd`. When `receive`
    /// throws, reading stops (the writer then sees a broken pipe) and the error is rethrown.
    public static func read(_ fd: Int32, buffer: Int = 1 << 20, into receive: ([UInt8]) async throws -> Void) async throws {
        let stream = BodyStream(capacity: buffer)
        let reader = Thread {
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                guard chunk.withUnsafeBytes({ stream.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }) else { break }
            }
            close(fd)
            stream.finish()
        }
        reader.start()
        do {
            try await withTaskCancellationHandler {
                while let piece = await stream.next() {
                    try Task.checkCancellation()
                    try await receive(piece)
                }
                try Task.checkCancellation()
            } onCancel: {
                stream.cancel()
            }
        } catch {
            stream.cancel()
            throw error
        }
    }
}
