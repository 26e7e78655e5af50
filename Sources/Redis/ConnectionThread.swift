import Foundation
import Logging

/// What runs on a `RedisClient`'s thread: opens the connection (again, after a failure, with a
/// capped backoff), takes over each round trip a caller wrote, writes the round trips of calls
/// that waited, reads every reply and hands it to its caller, and ends a connection that times
/// out, fails, is closed by the server or no longer reaches the master. It sleeps only in `poll`
/// — on the socket for replies, on the wake-up pipe for anything else.
struct ConnectionThread {
    let link: ClientLink
    let connectTimeout: Duration
    private var connection: RedisConnection?
    private var backoff = Backoff()
    private var everConnected = false

    /// The round trip under way: its requests, the replies read so far, how far they are handed out.
    private var batch: [PendingRequest] = []
    private var replies: [RedisValue] = []
    private var answered = 0
    private var repliesUsed = 0
    /// Requests answered since the shared count was last brought down.
    private var answeredUncounted = 0
    private var blocks = Duration.zero
    /// When the round trip under way started, or the socket last took or gave bytes of it.
    private var lastProgress = ContinuousClock.now
    /// The round trip's bytes the socket has not taken yet.
    private var unsent: [UInt8] = []
    private var unsentOffset = 0
    private var broken: String?
    private var masterMoved = false
    private var encoding = CommandEncoding()

    init(link: ClientLink, connectTimeout: Duration) {
        self.link = link
        self.connectTimeout = connectTimeout
    }

    private enum Step {
        case connect(generation: Int)
        case fail([PendingRequest], RedisError)
        case drop(ClientLink.Retirement)
        case lose(String)
        case write([PendingRequest], at: ContinuousClock.Instant)
        case deliver
        case wait(socket: Int32?, timeout: Int32)
        case exit([PendingRequest])
    }

    mutating func run() {
        while true {
            switch link.state.withLock({ plan(&$0) }) {
            case .connect(let generation): connect(generation: generation)
            case .fail(let requests, let error): for request in requests { request.fail(error) }
            case .drop(let reason): drop(reason)
            case .lose(let reason): lose(reason)
            case .write(let requests, let now): write(requests, at: now)
            case .deliver: deliver()
            case .wait(let socket, let timeout): wait(socket: socket, timeout: timeout)
            case .exit(let requests):
                for request in requests { request.fail(RedisError.closed) }
                return
            }
        }
    }

    /// Decides the next step, holding the lock.
    private mutating func plan(_ state: inout ClientLink.State) -> Step {
        absorb(&state)
        let now = ContinuousClock.now
        guard connection != nil else {
            if state.closed {
                defer { state.waiting = [] }
                return .exit(state.waiting)
            }
            if state.waiting.isEmpty {
                state.threadAsleep = true
                return .wait(socket: nil, timeout: -1)
            }
            if case .backingOff(let until) = state.connection, now < until {
                defer { state.waiting.removeAll() }
                return .fail(state.waiting, .unavailable(endpoint: link.endpoint.description, reason: state.lastFailure))
            }
            state.connection = .connecting
            return .connect(generation: link.watch?.generation ?? 0)
        }
        if let broken { return .lose(broken) }
        if answered < batch.count && replies.count - repliesUsed >= batch[answered].replyCount { return .deliver }
        if state.inFlight == 0 {
            if replies.count > repliesUsed { return .lose("a reply to nothing asked") }
            if masterMoved {
                masterMoved = false
                state.retiring = .masterMoved
                link.logger.warning("redis is no longer the master; reconnecting", metadata: ["redis.endpoint": "\(link.endpoint)"])
            }
            if let watch = link.watch, state.retiring == nil, watch.generation != state.connectedGeneration {
                state.retiring = .masterSwitched
            }
            if state.retiring == nil && state.closed && state.waiting.isEmpty { state.retiring = .clientClosed }
            if let retiring = state.retiring {
                state.retiring = nil
                state.connection = .none
                return .drop(retiring)
            }
            if !state.waiting.isEmpty {
                state.inFlight = state.waiting.count
                state.started = now
                defer { state.waiting.removeAll(keepingCapacity: true) }
                return .write(state.waiting, at: now)
            }
        }
        guard case .open(let socket) = state.connection else { return .lose("the connection was taken away") }
        state.threadAsleep = true
        let timeout: Duration
        if state.inFlight > 0 {
            timeout = deadline - now
        } else {
            // Idle: a caller may write a round trip while this thread sleeps; it wakes for the
            // reply, or by this time to look for one that never comes.
            timeout = min(link.commandTimeout, .seconds(1))
        }
        return .wait(socket: socket, timeout: Self.pollTimeout(timeout))
    }

    /// Takes over what callers left since the last look: a round trip one of them wrote, the
    /// bytes of it the socket did not take, a failed write; and counts down what was answered.
    private mutating func absorb(_ state: inout ClientLink.State) {
        state.threadAsleep = false
        if state.wakePending {
            link.drainWakeUps()
            state.wakePending = false
        }
        if answeredUncounted > 0 {
            state.inFlight -= answeredUncounted
            answeredUncounted = 0
            if state.inFlight == 0 { state.lastUsed = ContinuousClock.now }
        }
        if !state.handedOver.isEmpty {
            batch.append(contentsOf: state.handedOver)
            state.handedOver.removeAll(keepingCapacity: true)
            lastProgress = state.started
            blocks = state.blocks
        }
        if !state.unsent.isEmpty {
            swap(&unsent, &state.unsent)
            unsentOffset = 0
        }
        if let failure = state.broken {
            broken = failure
            state.broken = nil
        }
    }

    private mutating func connect(generation: Int) {
        do {
            let opened = try RedisConnection(endpoint: link.endpoint, connectTimeout: connectTimeout, commandTimeout: link.commandTimeout)
            connection = opened
            backoff.reset()
            link.state.withLock { state in
                state.connection = .open(socket: opened.descriptor)
                state.connectedGeneration = generation
                state.lastUsed = ContinuousClock.now
            }
            if everConnected { link.logger.notice("redis reconnected", metadata: ["redis.endpoint": "\(link.endpoint)"]) }
            everConnected = true
        } catch {
            let reason = (error as? RedisError)?.description ?? "\(error)"
            let delay = backoff.nextDelay()
            let refused = link.state.withLock { state -> [PendingRequest] in
                state.connection = .backingOff(until: ContinuousClock.now + delay)
                state.lastFailure = reason
                defer { state.waiting.removeAll() }
                return state.waiting
            }
            link.logger.warning(
                "redis connect failed",
                metadata: ["redis.endpoint": "\(link.endpoint)", "error": "\(reason)", "retry_in_ms": "\(delay.milliseconds)"])
            let error = RedisError.unavailable(endpoint: link.endpoint.description, reason: reason)
            for request in refused { request.fail(error) }
        }
    }

    /// Ends a connection with nothing owed on it.
    private mutating func drop(_ reason: ClientLink.Retirement) {
        connection = nil
        let endpoint = ["redis.endpoint": Logger.MetadataValue.string(link.endpoint.description)]
        switch reason {
        case .masterSwitched: link.logger.notice("redis master switched; reconnecting to the new one", metadata: endpoint)
        case .idleClosed: link.logger.notice("redis closed the idle connection; reconnecting", metadata: endpoint)
        case .masterMoved, .clientClosed: break
        }
    }

    /// Ends a connection that failed: what it owed fails as a lost connection (it may have run).
    private mutating func lose(_ reason: String) {
        let orphans = link.state.withLock { state -> [PendingRequest] in
            state.connection = .none
            state.retiring = nil
            state.inFlight = 0
            state.unsent = []
            state.broken = nil
            state.lastFailure = reason
            defer { state.handedOver.removeAll() }
            return state.handedOver
        }
        connection = nil
        let owed = Array(batch[answered...]) + orphans
        batch.removeAll()
        replies.removeAll()
        answered = 0
        repliesUsed = 0
        answeredUncounted = 0
        unsent = []
        unsentOffset = 0
        broken = nil
        masterMoved = false
        let endpoint = link.endpoint.description
        guard let first = owed.first else {
            link.logger.notice(
                "redis closed the idle connection; reconnecting", metadata: ["redis.endpoint": "\(endpoint)", "reason": "\(reason)"])
            return
        }
        link.logger.warning("redis connection lost", metadata: ["redis.endpoint": "\(endpoint)", "error": "\(reason)"])
        let error = RedisError.connectionLost(endpoint: endpoint, command: first.name, reason: reason)
        for request in owed { request.fail(error) }
    }

    /// Writes the round trip of the calls that waited for it.
    private mutating func write(_ requests: [PendingRequest], at now: ContinuousClock.Instant) {
        batch.append(contentsOf: requests)
        lastProgress = now
        blocks = requests.reduce(.zero) { max($0, $1.blocksFor) }
        encoding.reset()
        for request in requests { request.encode(into: &encoding) }
        guard let socket = connection?.descriptor else { return }
        switch RedisConnection.writeRoundTrip(encoding.bytes, to: socket) {
        case .whole:
            break
        case .rest(let rest):
            unsent = rest
            unsentOffset = 0
        case .failed(let reason):
            broken = reason
        }
    }

    /// When the round trip under way times out, unless the socket takes or gives bytes first.
    private var deadline: ContinuousClock.Instant { lastProgress + link.commandTimeout + blocks }

    /// Sleeps in `poll` until the socket has replies (or takes more of what is unsent), a caller
    /// wakes this thread, or the round trip's time is up; then does what woke it.
    private mutating func wait(socket: Int32?, timeout: Int32) {
        var descriptors = [pollfd(fd: link.wakeRead, events: Int16(POLLIN), revents: 0)]
        if let socket {
            let events = POLLIN | (unsent.count > unsentOffset ? POLLOUT : 0)
            descriptors.append(pollfd(fd: socket, events: Int16(events), revents: 0))
        }
        let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
        guard let connection, socket != nil else { return }
        link.state.withLock { absorb(&$0) }
        if broken != nil { return }
        let revents = ready > 0 ? Int32(descriptors[1].revents) : 0
        if unsent.count > unsentOffset && (revents & POLLOUT != 0 || unsentOffset == 0) { flush(connection.descriptor) }
        if broken != nil { return }
        if revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL) != 0 {
            do {
                try connection.readReplies(into: &replies)
                lastProgress = ContinuousClock.now
            } catch {
                broken = error.reason
                return
            }
            deliver()
        } else if answered < batch.count, ContinuousClock.now >= deadline {
            broken = "timed out"
        }
    }

    /// Writes more of the round trip the socket did not take at once.
    private mutating func flush(_ socket: Int32) {
        switch unsent[unsentOffset...].withUnsafeBytes({ RedisConnection.writeSome(socket, $0) }) {
        case .success(let written):
            guard written > 0 else { return }
            unsentOffset += written
            lastProgress = ContinuousClock.now
            if unsentOffset == unsent.count {
                unsent = []
                unsentOffset = 0
            }
        case .failure(let failure):
            broken = failure.reason
        }
    }

    /// Hands each request whose replies are all in its replies, in order.
    private mutating func deliver() {
        while answered < batch.count, replies.count - repliesUsed >= batch[answered].replyCount {
            let request = batch[answered]
            if !masterMoved, replies[repliesUsed..<(repliesUsed + request.replyCount)].contains(where: Self.saysTheMasterMoved) {
                masterMoved = true
            }
            repliesUsed = request.answer(replies, from: repliesUsed)
            answered += 1
            answeredUncounted += 1
        }
        if answered == batch.count && repliesUsed == replies.count {
            batch.removeAll(keepingCapacity: true)
            replies.removeAll(keepingCapacity: true)
            answered = 0
            repliesUsed = 0
        }
    }

    /// `poll`'s timeout for `duration`: whole milliseconds rounded up, never negative.
    private static func pollTimeout(_ duration: Duration) -> Int32 {
        guard duration > .zero else { return 0 }
        return Int32(clamping: duration.milliseconds + 1)
    }

    /// `READONLY` (a replica now), `UNBLOCKED` (a blocked read ended by a change of role),
    /// `MASTERDOWN`: the server this connection reaches is not the master to write to any more.
    static func saysTheMasterMoved(_ reply: RedisValue) -> Bool {
        guard case .error(let message) = reply else { return false }
        return message.hasPrefix("READONLY") || message.hasPrefix("UNBLOCKED") || message.hasPrefix("MASTERDOWN")
    }
}
