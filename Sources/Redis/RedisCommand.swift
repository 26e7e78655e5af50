/// One Redis command in argv form: the name and its arguments, each sent as a length-prefixed bulk
/// string, so no argument is ever parsed or interpolated by the client.
public struct RedisCommand: Sendable {
    public var arguments: [String]
    /// How long the server may legitimately hold the reply back (`BLOCK` of XREADGROUP, BLPOP's
    /// timeout); added to the client's command timeout for this one call.
    public var blocksFor: Duration

    public init(_ name: String, _ arguments: [String] = [], blocksFor: Duration = .zero) {
        var line: [String] = []
        line.reserveCapacity(arguments.count + 1)
        line.append(name)
        line.append(contentsOf: arguments)
        self.arguments = line
        self.blocksFor = blocksFor
    }

    public init(arguments: [String], blocksFor: Duration = .zero) {
        precondition(!arguments.isEmpty, "a Redis command needs a name")
        self.arguments = arguments
        self.blocksFor = blocksFor
    }

    /// The command's name in upper case, for errors and logs (arguments are never logged).
    public var name: String { arguments[0].uppercased() }
}
