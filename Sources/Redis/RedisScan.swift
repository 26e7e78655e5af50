extension RedisPool {
    /// Walks a cursor of the SCAN family (`SCAN`, `HSCAN key`, `SSCAN key`) to its end, handing each
    /// page (the reply's second element) to `body`: a keyspace or a collection of any size read a
    /// page at a time. A reply of another shape ends the walk.
    public func scan(
        _ command: String, key: String? = nil, match: String? = nil, count: Int, _ body: (RedisValue) async throws -> Void
    ) async throws {
        var cursor = "0"
        repeat {
            var arguments = (key.map { [$0] } ?? []) + [cursor]
            if let match { arguments += ["MATCH", match] }
            let reply = try await send(RedisCommand(command, arguments + ["COUNT", String(count)]))
            guard let parts = reply.array, parts.count == 2 else { return }
            cursor = parts[0].string ?? "0"
            try await body(parts[1])
        } while cursor != "0"
    }
}
