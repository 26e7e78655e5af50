/// A caller's command, or commands sent together, and where their replies go. One command (the
/// common case) travels without an array of its own, and its reply without one either. The
/// continuations are unchecked (a checked one costs an allocation per call): every request a
/// `RedisClient` accepts is answered or failed exactly once, by its connection thread or, when
/// refused outright, by the caller.
enum PendingRequest: Sendable {
    case one(RedisCommand, UnsafeContinuation<RedisValue, any Error>)
    case many([RedisCommand], UnsafeContinuation<[RedisValue], any Error>)

    func fail(_ error: any Error) {
        switch self {
        case .one(_, let continuation): continuation.resume(throwing: error)
        case .many(_, let continuation): continuation.resume(throwing: error)
        }
    }

    /// How many replies it is owed.
    var replyCount: Int {
        switch self {
        case .one: 1
        case .many(let commands, _): commands.count
        }
    }

    /// The first command's name, for errors.
    var name: String {
        switch self {
        case .one(let command, _): command.name
        case .many(let commands, _): commands[0].name
        }
    }

    /// The longest its commands may legitimately keep the reply back (`RedisCommand.blocksFor`).
    var blocksFor: Duration {
        switch self {
        case .one(let command, _): command.blocksFor
        case .many(let commands, _): commands.reduce(.zero) { max($0, $1.blocksFor) }
        }
    }

    /// Appends its commands in the Redis protocol.
    func encode(into encoding: inout CommandEncoding) {
        switch self {
        case .one(let command, _): encoding.append(command)
        case .many(let commands, _): for command in commands { encoding.append(command) }
        }
    }

    /// Hands this request its replies, which start at `offset` of `replies`; returns where the
    /// next request's replies start.
    func answer(_ replies: [RedisValue], from offset: Int) -> Int {
        switch self {
        case .one(_, let continuation):
            continuation.resume(returning: replies[offset])
            return offset + 1
        case .many(let commands, let continuation):
            continuation.resume(returning: Array(replies[offset..<(offset + commands.count)]))
            return offset + commands.count
        }
    }
}
