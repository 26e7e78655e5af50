import Crypto

/// A Lua script run by its SHA-1 (EVALSHA), falling back to EVAL when the server has not seen it
/// yet (a restarted Redis forgets loaded scripts), which also caches it there again. Errors the
/// script raises name it (`script <name>`), not the EVALSHA that carried it.
public struct RedisScript: Sendable {
    public let name: String
    public let source: String
    public let sha: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
        // SHA-1 only because EVALSHA names scripts by it; nothing secret depends on it.
        self.sha = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }

    public func run(on client: RedisClient, keys: [String], arguments: [String]) async throws -> RedisValue {
        let tail = [String(keys.count)] + keys + arguments
        do {
            return try await client.send(RedisCommand("EVALSHA", [sha] + tail))
        } catch let error as RedisError where error.serverCode == "NOSCRIPT" {
            return try await client.send(RedisCommand("EVAL", [source] + tail))
        } catch let error as RedisError {
            if case .server(_, let message) = error { throw RedisError.server(command: "script \(name)", message: message) }
            throw error
        }
    }
}
