/// Stream entry ids (`<unix ms>-<sequence>`) compared as Redis compares them, numerically, part by
/// part — not as text, where `9-0` would sort after `10-0`.
public enum StreamID {
    public static func parse(_ id: String) -> (UInt64, UInt64)? {
        let parts = id.split(separator: "-", maxSplits: 1)
        guard let time = parts.first.flatMap({ UInt64($0) }) else { return nil }
        let sequence = parts.count == 2 ? UInt64(parts[1]) : 0
        guard let sequence else { return nil }
        return (time, sequence)
    }

    /// The lowest and the highest of `ids` (nil when none parses).
    static func bounds<C: Collection<String>>(_ ids: C) -> (String, String)? {
        var lowest: (key: (UInt64, UInt64), id: String)?
        var highest: (key: (UInt64, UInt64), id: String)?
        for id in ids {
            guard let key = parse(id) else { continue }
            if lowest == nil || key < lowest!.key { lowest = (key, id) }
            if highest == nil || key > highest!.key { highest = (key, id) }
        }
        guard let lowest, let highest else { return nil }
        return (lowest.id, highest.id)
    }
}
