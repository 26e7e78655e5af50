import NIOCore

/// Commands for one channel and the promise of their replies, in order.
struct RedisRequest: Sendable {
    var commands: [RedisCommand]
    var promise: EventLoopPromise<[RedisValue]>
}

/// Speaks Redis on one channel: each request's commands are written in one buffer, and the
/// replies, parsed by hiredis as the bytes arrive, complete the requests in the order they were
/// written — so any number of callers pipeline on one connection. When the connection ends (the
/// server closed it, the protocol broke, a timeout closed it), every request still waiting fails
/// with `connectionLost` naming its first command: it may or may not have run.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        var remaining: Int
        var replies: [RedisValue]
        let promise: EventLoopPromise<[RedisValue]>
        let command: String
    }

    private let reader = RESPReader()
    private var waiting = CircularBuffer<Waiting>(initialCapacity: 16)
    private let endpoint: String
    /// Why the connection ended, once it has.
    private var ended: String?

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
        var replies: [RedisValue] = []
        replies.reserveCapacity(request.commands.count)
        waiting.append(Waiting(remaining: request.commands.count, replies: replies, promise: request.promise, command: command))
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try reader.feed(unwrapInboundIn(data))
            while let reply = try reader.next() {
                guard !waiting.isEmpty else { throw RESPError(message: "a reply nobody asked for") }
                waiting[waiting.startIndex].replies.append(reply)
                waiting[waiting.startIndex].remaining -= 1
                if waiting[waiting.startIndex].remaining == 0 {
                    let done = waiting.removeFirst()
                    done.promise.succeed(done.replies)
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

    /// Closes the connection on the caller's behalf (a timeout), failing what waits with `reason`.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        end(ended ?? "closed")
        context.close(mode: mode, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is RedisTimedOut {
            end("timed out")
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func end(_ reason: String) {
        if ended == nil { ended = reason }
        while let request = waiting.popFirst() {
            request.promise.fail(RedisError.connectionLost(endpoint: endpoint, command: request.command, reason: ended ?? reason))
        }
    }
}

/// Sent down a channel's pipeline when a command's reply is late: the connection is closed (its
/// replies could no longer be matched to their commands), failing every request on it.
struct RedisTimedOut: Sendable {}
