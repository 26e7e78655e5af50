import NIOCore

/// Commands for one channel and the promise of their replies, in order.
struct RedisRequest: Sendable {
    var commands: [RedisCommand]
    var promise: EventLoopPromise<[RedisValue]>
    /// How long its replies may take from the moment it is written.
    var limit: TimeAmount
}

/// Speaks Redis on one channel: each request's commands are written in one buffer, and the
/// replies, parsed by hiredis as the bytes arrive, complete the requests in the order they were
/// written — so any number of callers pipeline on one connection. When the connection ends (the
/// server closed it, the protocol broke, a reply was later than its request's limit — the replies
/// could no longer be matched to their commands), every request still waiting fails
/// with `connectionLost` naming its first command: it may or may not have run.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        let count: Int
        let promise: EventLoopPromise<[RedisValue]>
        let command: String
        let deadline: NIODeadline
    }

    private let reader = RESPReader()
    private var waiting = CircularBuffer<Waiting>(initialCapacity: 16)
    /// The replies of the first waiting request read so far (kept apart from `waiting`, so that
    /// appending to them never copies them).
    private var replies: [RedisValue] = []
    private let endpoint: String
    /// Why the connection ended, once it has.
    private var ended: String?
    /// A flush is scheduled for the end of this turn of the loop: the requests written until then
    /// go out in one system call.
    private var flushPending = false
    /// One timer for the whole connection, due when the oldest waiting request's replies are; a
    /// request's replies come after those of every request written before it, so the oldest is
    /// the one to watch (a timer per request would cost more than the request).
    private var timer: Scheduled<Void>?

    init(endpoint: String) {
        self.endpoint = endpoint
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        let command = request.commands.first?.name ?? "?"
        if let ended {
            request.promise.fail(RedisError.connectionLost(endpoint: endpoint, command: command, reason: ended))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard !request.commands.isEmpty else {
            request.promise.succeed([])
            promise?.succeed()
            return
        }
        var size = 0
        for command in request.commands { for argument in command.arguments { size += argument.utf8.count + 16 } }
        var buffer = context.channel.allocator.buffer(capacity: size + 16)
        for command in request.commands { RESPEncoding.append(command, to: &buffer) }
        let deadline = NIODeadline.now() + request.limit
        waiting.append(Waiting(count: request.commands.count, promise: request.promise, command: command, deadline: deadline))
        if timer == nil { watch(until: deadline, context: context) }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    private func watch(until deadline: NIODeadline, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            guard let head = handler.waiting.first else { return }
            if head.deadline <= .now() {
                handler.end("timed out")
                context.close(promise: nil)
            } else {
                handler.watch(until: head.deadline, context: context)
            }
        }
    }

    /// Coalesces the flushes of every request written during this turn of the loop into one.
    func flush(context: ChannelHandlerContext) {
        guard !flushPending else { return }
        flushPending = true
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            handler.flushPending = false
            context.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try reader.feed(unwrapInboundIn(data))
            while let reply = try reader.next() {
                guard let head = waiting.first else { throw RESPError(message: "a reply nobody asked for") }
                if head.count == 1 {
                    waiting.removeFirst()
                    head.promise.succeed([reply])
                    continue
                }
                if replies.isEmpty { replies.reserveCapacity(head.count) }
                replies.append(reply)
                if replies.count == head.count {
                    waiting.removeFirst()
                    let done = replies
                    replies = []
                    head.promise.succeed(done)
                }
            }
        } catch {
            end("protocol error: \((error as? RESPError)?.message ?? "\(error)")")
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        end("Server closed the connection")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        end("\(error)")
        context.close(promise: nil)
    }

    /// Closes the connection on the caller's behalf, failing what still waits.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        end(ended ?? "closed")
        context.close(mode: mode, promise: promise)
    }

    private func end(_ reason: String) {
        if ended == nil { ended = reason }
        timer?.cancel()
        timer = nil
        replies = []
        while let request = waiting.popFirst() {
            request.promise.fail(RedisError.connectionLost(endpoint: endpoint, command: request.command, reason: ended ?? reason))
        }
    }
}
