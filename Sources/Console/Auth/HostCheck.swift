import Foundation
import Hummingbird

/// Answers only requests addressed to a name the console is served as: `CONSOLE_PUBLIC_URL`'s
/// host, the address it listens on, and the loopback names. A page of an attacker's whose name
/// was rebound to the console's address (DNS rebinding) sends its own name as `Host` and gets 421,
/// so it can neither read a loopback console that needs no sign-in nor pass its `Origin` off as
/// the console's own. A console listening on every address with no public URL cannot know its
/// names and takes any (it needs a sign-in then, which rebinding does not carry).
struct HostCheck: RouterMiddleware {
    typealias Context = ConsoleContext

    /// The host names accepted (lowercased, without a port); nil: any.
    let names: Set<String>?

    static let loopback: Set<String> = ["localhost", "127.0.0.1", "::1"]

    /// The names for a console listening on `host`, served at `publicURL`.
    static func names(listeningOn host: String, publicURL: String?) -> Set<String>? {
        let wildcard = ["0.0.0.0", "::", "*", ""].contains(host)
        let publicHost = publicURL.flatMap { URLComponents(string: $0)?.host?.lowercased() }
        if wildcard && publicHost == nil { return nil }
        var names = loopback
        if !wildcard { names.insert(host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) }
        if let publicHost { names.insert(publicHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) }
        return names
    }

    /// The host name of a `Host` header (`example.com:8090` → `example.com`, `[::1]:80` → `::1`).
    static func name(ofAuthority authority: String) -> String {
        let text = authority.lowercased()
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return String(text[text.index(after: text.startIndex)..<close])
        }
        return String(text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let names else { return try await next(request, context) }
        guard let authority = request.head.authority, !authority.isEmpty else {
            return Self.refusal(.badRequest, "A request to the console must name its host.\n")
        }
        guard names.contains(Self.name(ofAuthority: authority)) else {
            return Self.refusal(.misdirectedRequest, "This console is not served under that name.\n")
        }
        return try await next(request, context)
    }

    static func refusal(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
