/// The kinds a consumer can run, looked up by name. An unknown kind is not an error here: the
/// worker dead-letters such a job with a message naming the kind.
public struct JobRegistry: Sendable {
    public private(set) var definitions: [String: JobDefinition] = [:]

    public init(_ definitions: [JobDefinition] = []) {
        for definition in definitions { register(definition) }
    }

    public mutating func register(_ definition: JobDefinition) {
        precondition(definitions[definition.kind] == nil, "job kind '\(definition.kind)' registered twice")
        definitions[definition.kind] = definition
    }

    public subscript(kind: String) -> JobDefinition? { definitions[kind] }

    /// Every queue some kind names as its default, sorted.
    public var queues: [String] { Array(Set(definitions.values.map(\.queue))).sorted() }

    /// The longest timeout among the kinds of `queue` (or of all kinds if none names it): what a
    /// queue's visibility timeout must exceed.
    public func longestTimeout(in queue: String) -> Duration {
        let timeouts = definitions.values.filter { $0.queue == queue }.map(\.timeout)
        return timeouts.max() ?? definitions.values.map(\.timeout).max() ?? .seconds(60)
    }
}
