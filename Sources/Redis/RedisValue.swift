/// A Redis reply, copied out of hiredis so that no C memory outlives the call that produced it.
public enum RedisValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case array([RedisValue])
    case status(String)
    case error(String)
    case null

    /// The text of a bulk string or status reply.
    public var string: String? {
        switch self {
        case .string(let text), .status(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// An integer reply, or a bulk string holding a number.
    public var integer: Int? {
        switch self {
        case .integer(let value): value
        case .string(let text): Int(text)
        default: nil
        }
    }

    /// The elements of an array reply; `null` counts as empty.
    public var array: [RedisValue]? {
        switch self {
        case .array(let values): values
        case .null: []
        default: nil
        }
    }

    public var isNull: Bool { self == .null }

    /// A flat `[key, value, key, value, …]` array (HGETALL, XINFO entries, stream entry fields) as
    /// pairs in order; a trailing odd element is dropped.
    public var pairs: [(key: String, value: RedisValue)] {
        let flat = array ?? []
        var result: [(key: String, value: RedisValue)] = []
        result.reserveCapacity(flat.count / 2)
        var index = 0
        while index + 1 < flat.count {
            result.append((flat[index].string ?? "", flat[index + 1]))
            index += 2
        }
        return result
    }
}
