/// A Qdrant payload filter as its REST API takes it (docs/contracts.md §6): every `must` condition
/// holds, no `mustNot` condition holds, and — when `should` is given — at least one of those holds.
///
/// Conditions are values, so whoever decides what a reader may see (the chat flow's retrieval)
/// builds the filter, and the filter is what Qdrant enforces: nothing leaves Qdrant that the filter
/// does not admit, whatever a prompt says.
public struct QdrantFilter: Sendable, Encodable, Equatable {
    public var must: [Condition] = []
    public var mustNot: [Condition] = []
    public var should: [Condition] = []

    public init(must: [Condition] = [], mustNot: [Condition] = [], should: [Condition] = []) {
        self.must = must
        self.mustNot = mustNot
        self.should = should
    }

    /// One condition: a payload field equal to a value, holding any of several strings, empty or
    /// missing, or a nested filter.
    public indirect enum Condition: Sendable, Equatable {
        case equals(String, JSONValue)
        case any(String, [String])
        case isEmpty(String)
        case nested(QdrantFilter)
    }

    public var isEmpty: Bool { must.isEmpty && mustNot.isEmpty && should.isEmpty }

    enum CodingKeys: String, CodingKey {
        case must
        case mustNot = "must_not"
        case should
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if !must.isEmpty { try container.encode(must, forKey: .must) }
        if !mustNot.isEmpty { try container.encode(mustNot, forKey: .mustNot) }
        if !should.isEmpty { try container.encode(should, forKey: .should) }
    }
}

extension QdrantFilter.Condition: Encodable {
    private enum Keys: String, CodingKey {
        case key
        case match
        case isEmpty = "is_empty"
        case value
        case any
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .equals(let key, let value):
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(key, forKey: .key)
            var match = container.nestedContainer(keyedBy: Keys.self, forKey: .match)
            try match.encode(value, forKey: .value)
        case .any(let key, let values):
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(key, forKey: .key)
            var match = container.nestedContainer(keyedBy: Keys.self, forKey: .match)
            // Qdrant matches nothing for an empty list; a value no key takes (keys are `kind:value`) says the same.
            try match.encode(values.isEmpty ? ["none"] : values, forKey: .any)
        case .isEmpty(let key):
            var container = encoder.container(keyedBy: Keys.self)
            var field = container.nestedContainer(keyedBy: Keys.self, forKey: .isEmpty)
            try field.encode(key, forKey: .key)
        case .nested(let filter):
            try filter.encode(to: encoder)
        }
    }
}
