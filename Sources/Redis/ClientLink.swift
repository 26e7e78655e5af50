import Foundation
import Logging
import Synchronization

/// What a `RedisClient`'s callers share with its connection thread, under one lock: the socket
/// while the connection is open, the round trip under way, the calls waiting for the next one,
/// and the thread's wake-up.
///
/// Guarantees: one round trip at a time, its requests answered in the order written. A caller
/// writes its command itself only when the connection is open, trusted (not retiring, not found
/// closed by the server while idle, not made under an older Sentinel generation) and idle — no
/// round trip under way, nothing waiting — so what callers write never interleaves with what the
/// thread writes. Every accepted request is answered or failed exactly once; a caller is refused
/// (and answers its own request) only once the client is closed or while it backs off.
final class ClientLink: Sendable {
    /// The connection as callers see it.
    enum Connection {
        case none
        case connecting
        case backingOff(until: ContinuousClock.Instant)
        case open(socket: Int32)
    }

    /// Why an open connection takes no new round trip; it is dropped once its replies are in.
    enum Retirement {
        case masterSwitched, masterMoved, idleClosed, clientClosed
    }

    struct State {
        var connection = Connection.none
        var retiring: Retirement?
        var closed = false
        /// Requests of the round trip under way not yet answered (the thread counts them down).
        var inFlight = 0
        /// A round trip a caller wrote, not yet taken over by the thread; when it started, and how
        /// long its command may block on top of the timeout.
        var handedOver: [PendingRequest] = []
        var started = ContinuousClock.now
        var blocks = Duration.zero
        /// What the socket did not take of a caller's write; the thread writes it.
        var unsent: [UInt8] = []
        /// Why a caller's write failed.
        var broken: String?
        /// Calls waiting for the next round trip, which the thread writes.
        var waiting: [PendingRequest] = []
        /// Callers' command bytes, reused from call to call.
        var encoding = CommandEncoding()
        /// When the last round trip ended.
        var lastUsed = ContinuousClock.now
        var connectedGeneration = 0
        var lastFailure = ""
        /// The thread is in (or about to enter) `poll`, and whether a wake-up byte is already sent.
        var threadAsleep = false
        var wakePending = false
    }

    let state = Mutex(State())
    let endpoint: RedisEndpoint
    let commandTimeout: Duration
    let logger: Logger
    /// For a Sentinel endpoint: the failover announcements.
    let watch: SentinelWatch?
    /// The thread's wake-up: a byte written to `wakeWrite` ends its `poll` on `wakeRead`.
    let wakeRead: Int32
    let wakeWrite: Int32

    init(endpoint: RedisEndpoint, commandTimeout: Duration, logger: Logger) {
        self.endpoint = endpoint
        self.commandTimeout = commandTimeout
        self.logger = logger
        watch = endpoint.sentinel.map { SentinelWatch.shared($0, logger: logger) }
        var ends: [Int32] = [-1, -1]
        let made = pipe(&ends)
        precondition(made == 0, "a Redis client needs a pipe to wake its thread: \(String(cString: strerror(errno)))")
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        wakeRead = ends[0]
        wakeWrite = ends[1]
    }

    deinit {
        Foundation.close(wakeRead)
        Foundation.close(wakeWrite)
    }

    /// A connection idle this long is checked for a close by the server before a caller writes to
    /// it; one busy with round trips is not (it would have failed one already).
    static let idleCheckAfter: Duration = .milliseconds(10)

    /// Writes `request` now if the connection is idle, else leaves it for the next round trip;
    /// fails it at once while the client is closed or backing off.
    func submit(_ request: PendingRequest) {
        let refusal: RedisError? = state.withLock { state in
            if state.closed { return .closed }
            let now = ContinuousClock.now
            switch state.connection {
            case .backingOff(let until) where now < until:
                return .unavailable(endpoint: endpoint.description, reason: state.lastFailure)
            case .open(let socket) where state.retiring == nil && state.inFlight == 0 && state.waiting.isEmpty:
                if let watch, watch.generation != state.connectedGeneration {
                    state.retiring = .masterSwitched
                } else if now - state.lastUsed >= Self.idleCheckAfter && RedisConnection.peerHasClosed(socket) {
                    state.retiring = .idleClosed
                } else {
                    write(request, on: socket, at: now, &state)
                    return nil
                }
            default:
                break
            }
            state.waiting.append(request)
            if state.inFlight == 0 { wake(&state) }
            return nil
        }
        if let refusal { request.fail(refusal) }
    }

    /// Calls waiting for the next round trip, and when the round trip under way started.
    var backlog: RedisClient.Backlog {
        state.withLock { state in
            RedisClient.Backlog(waiting: state.waiting.count, underWaySince: state.inFlight > 0 ? state.started : nil)
        }
    }

    func close() {
        state.withLock { state in
            state.closed = true
            wake(&state)
        }
    }

    /// Ends the thread's `poll`, once, if it sleeps there.
    func wake(_ state: inout State) {
        guard state.threadAsleep, !state.wakePending else { return }
        state.wakePending = true
        var byte: UInt8 = 1
        _ = Foundation.write(wakeWrite, &byte, 1)
    }

    /// Empties the wake-up pipe (the thread, once awake).
    func drainWakeUps() {
        var bytes = (UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &bytes, { read(wakeRead, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// A caller's own round trip: written as far as the socket takes it now; the rest, or a
    /// failure, is the thread's to deal with.
    private func write(_ request: PendingRequest, on socket: Int32, at now: ContinuousClock.Instant, _ state: inout State) {
        state.inFlight = 1
        state.handedOver.append(request)
        state.started = now
        state.blocks = request.blocksFor
        state.encoding.reset()
        request.encode(into: &state.encoding)
        switch RedisConnection.writeRoundTrip(state.encoding.bytes, to: socket) {
        case .whole:
            return
        case .rest(let rest):
            state.unsent = rest
        case .failed(let reason):
            state.broken = reason
        }
        wake(&state)
    }
}
