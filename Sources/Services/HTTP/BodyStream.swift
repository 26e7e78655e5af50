import Foundation

/// A response body handed from the transfer's thread to the caller's task piece by piece, with at
/// most `capacity` bytes waiting between them: when the caller falls behind (a slow upload of what
/// it received), the transfer waits, so a download of any size holds a bounded amount of memory.
///
/// The transfer's thread (a curl worker) blocks in `write` while the buffer is full — it owns that
/// thread, nothing else runs on it; the caller never blocks, it suspends in `next()`. Either side
/// can end it: `finish()` when the transfer is over, `cancel()` when the caller gives up (the next
/// `write` answers false, which aborts the transfer).
final class BodyStream: Sendable {
    private struct State {
        var pieces: [[UInt8]] = []
        var buffered = 0
        var finished = false
        var cancelled = false
        var waiter: CheckedContinuation<[UInt8]?, Never>?
    }

    let capacity: Int
    // NSCondition is thread-safe; `state` is only touched while holding it.
    private let condition = NSCondition()
    private nonisolated(unsafe) var state = State()

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// On the transfer's thread: hands `bytes` over, waiting while the buffer is full. False when
    /// the caller has cancelled: the transfer should stop.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        condition.lock()
        guard !state.cancelled else {
            condition.unlock()
            return false
        }
        let piece = Array(bytes)
        var waiter: CheckedContinuation<[UInt8]?, Never>?
        if let pending = state.waiter {
            state.waiter = nil
            waiter = pending
        } else {
            state.pieces.append(piece)
            state.buffered += piece.count
        }
        while state.buffered > capacity && !state.cancelled { condition.wait() }
        let go = !state.cancelled
        condition.unlock()
        waiter?.resume(returning: piece)
        return go
    }

    /// On the transfer's thread: the body is complete (or the transfer failed).
    func finish() {
        condition.lock()
        state.finished = true
        let waiter = state.waiter
        state.waiter = nil
        condition.unlock()
        waiter?.resume(returning: nil)
    }

    /// The caller gives up: the transfer stops at its next write, and `next()` answers nil.
    func cancel() {
        condition.lock()
        state.cancelled = true
        state.pieces = []
        state.buffered = 0
        let waiter = state.waiter
        state.waiter = nil
        condition.broadcast()
        condition.unlock()
        waiter?.resume(returning: nil)
    }

    /// The next piece, or nil at the end.
    func next() async -> [UInt8]? {
        await withCheckedContinuation { continuation in
            condition.lock()
            if !state.pieces.isEmpty {
                let piece = state.pieces.removeFirst()
                state.buffered -= piece.count
                condition.signal()
                condition.unlock()
                continuation.resume(returning: piece)
            } else if state.finished || state.cancelled {
                condition.unlock()
                continuation.resume(returning: nil)
            } else {
                state.waiter = continuation
                condition.unlock()
            }
        }
    }
}
