import Hummingbird
import NIOCore

/// The console's request context: Hummingbird's own, plus the address of the client's socket —
/// what sign-in guesses are throttled by and refusals logged with. (Behind a proxy that is the
/// proxy's address: every client then shares one budget of guesses.)
struct ConsoleContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text, `unknown` when the socket has none.
    var client: String { remoteAddress?.ipAddress ?? "unknown" }
}
