/// Stream entry ids (`<unix ms>-<sequence>`) compared as Redis compares them, numerically, part by
/// part — not as text, where `9-0` would sort after `10-0`.
public enum StreamID {
    /// `<ms>-<seq>` or `<ms>` (sequence 0), digits only; nil for anything else or a part past
    /// `UInt64`. Read byte by byte: the acknowledgement of every job parses its entry's id.
    public static func parse(_ id: String) -> (UInt64, UInt64)? {
        var parts: (UInt64, UInt64) = (0, 0)
        var inSequence = false
        var digits = 0
        for byte in id.utf8 {
            if byte == UInt8(ascii: "-") {
                guard !inSequence, digits > 0 else { return nil }
                inSequence = true
                digits = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = UInt64(byte - UInt8(ascii: "0"))
            let (times10, overflowed) = (inSequence ? parts.1 : parts.0).multipliedReportingOverflow(by: 10)
            let (value, overflowedAgain) = times10.addingReportingOverflow(digit)
            guard !overflowed, !overflowedAgain else { return nil }
            if inSequence { parts.1 = value } else { parts.0 = value }
            digits += 1
        }
        guard digits > 0 else { return nil }
        return parts
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
