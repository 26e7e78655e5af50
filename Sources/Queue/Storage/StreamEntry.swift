import Redis

/// One stream entry as read back from Redis: its id and its field/value pairs in order.
public struct StreamEntry: Sendable, Equatable {
    public var id: String
    public var fields: [(String, String)]

    public init(id: String, fields: [(String, String)]) {
        self.id = id
        self.fields = fields
    }

    public var fieldMap: [String: String] {
        Dictionary(fields, uniquingKeysWith: { _, last in last })
    }

    public static func == (lhs: StreamEntry, rhs: StreamEntry) -> Bool {
        lhs.id == rhs.id && lhs.fields.elementsEqual(rhs.fields, by: ==)
    }

    /// Parses `[id, [field, value, …]]`; nil for the `[id, nil]` of an entry deleted meanwhile.
    init?(_ value: RedisValue) {
        guard let pair = value.array, pair.count == 2, let id = pair[0].string, let flat = pair[1].array, !pair[1].isNull else {
            return nil
        }
        var fields: [(String, String)] = []
        fields.reserveCapacity(flat.count / 2)
        var index = 0
        while index + 1 < flat.count {
            fields.append((flat[index].string ?? "", flat[index + 1].string ?? ""))
            index += 2
        }
        self.id = id
        self.fields = fields
    }

    /// Parses a list of entries (XRANGE, XAUTOCLAIM's second element).
    public static func list(_ value: RedisValue) -> [StreamEntry] {
        (value.array ?? []).compactMap(StreamEntry.init)
    }
}
