/// Chatwoot's `message_type`: who a message is from. The webhook's top level writes it as a string
/// (`"incoming"`), the message lists and `conversation.messages` as Chatwoot's integer enum (0
/// incoming, 1 outgoing, 2 activity, 3 template); both read the same. A value Chatwoot adds later
/// reads as `other`; anything that is neither a string nor a number does not decode.
public enum ChatwootMessageType: Decodable, Sendable, Equatable {
    case incoming, outgoing, activity, template, other

    /// Chatwoot's order: the integer form is the index.
    private static let known: [(name: String, type: ChatwootMessageType)] = [
        ("incoming", .incoming), ("outgoing", .outgoing), ("activity", .activity), ("template", .template),
    ]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let name = try? container.decode(String.self) {
            self = Self.known.first { $0.name == name }?.type ?? .other
        } else {
            let number = try container.decode(Int.self)
            self = Self.known.indices.contains(number) ? Self.known[number].type : .other
        }
    }
}
