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
        do {
            return try await client.send(command("EVALSHA", sha, keys: keys, arguments: arguments))
        } catch let error as RedisError where error.serverCode == "NOSCRIPT" {
            return try await client.send(command("EVAL", source, keys: keys, arguments: arguments))
        } catch let error as RedisError {
            if case .server(_, let message) = error { throw RedisError.server(command: "script \(name)", message: message) }
            throw error
        }
    }

    /// The command line built once, in one array: an acknowledgement of a few hundred jobs
    /// carries thousands of arguments.
    /// The script's call by SHA, for a caller that sends it in a pipeline of its own: a `NOSCRIPT`
    /// reply (Redis restarted and forgot it) is then the caller's to handle, as by `run`.
    public func call(keys: [String], arguments: [String]) -> RedisCommand {
        command("EVALSHA", sha, keys: keys, arguments: arguments)
    }

    private func command(_ name: String, _ script: String, keys: [String], arguments: [String]) -> RedisCommand {
        var line: [String] = []
        line.reserveCapacity(3 + keys.count + arguments.count)
        line.append(name)
        line.append(script)
        line.append(String(keys.count))
        line.append(contentsOf: keys)
        line.append(contentsOf: arguments)
        return RedisCommand(arguments: line)
    }
}
