import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Bounds what a client can make one of the producer's connections cost, below the routes:
///
/// - a request must arrive whole within `readTimeout` of its head, however slowly it trickles in
///   (the idle timeout alone is reset by every byte, so a body sent a byte a second would hold a
///   connection, a task and a descriptor for ever); past it the connection is closed and the
///   handler reading the body sees the body end early;
/// - a response written before its request was read to the end (a 413, a 401 before an upload, a
///   refusal of any kind) closes the connection instead of draining a body nobody wants, which an
///   attacker could make endless; so does a response that says `Connection: close`.
///
/// Closing is lingering: the output is shut right after the response, so the client reads the
/// answer and sees the end, and the socket is closed fully a moment later (closing at once with
/// unread bytes makes the kernel reset the connection, and a reset can destroy the answer before
/// the client has read it).
final class RequestReadGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let readTimeout: TimeAmount
    private let linger: TimeAmount
    private var requestComplete = true
    private var closeAfterResponse = false
    private var deadline: Scheduled<Void>?

    init(readTimeout: TimeAmount, linger: TimeAmount = .seconds(1)) {
        self.readTimeout = readTimeout
        self.linger = linger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestComplete = false
            deadline?.cancel()
            let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: readTimeout) { [self] in
                deadline = nil
                if !requestComplete { loopContext.value.close(promise: nil) }
            }
        case .body:
            break
        case .end:
            requestComplete = true
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.headerFields[.connection]?.lowercased() == "close" { closeAfterResponse = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closeAfterResponse || !requestComplete else {
                context.write(data, promise: promise)
                return
            }
            let written = promise ?? context.eventLoop.makePromise()
            context.writeAndFlush(data, promise: written)
            let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            let linger = linger
            written.futureResult.assumeIsolated().whenComplete { _ in
                let context = loopContext.value
                context.close(mode: .output, promise: nil)
                context.eventLoop.assumeIsolated().scheduleTask(in: linger) { context.close(promise: nil) }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}

@available(*, unavailable)
extension RequestReadGuard: Sendable {}
