import Foundation

/// The bits of JSON written by hand: a quoted string (also for the producer's small answers), an
/// array of strings, and flat objects of strings (`JSONObjectText`).
public enum JSONString {
    public static func quote(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            return "\"" + text + "\""
        }
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    public static func parseStringArray(_ text: String) -> [String]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else { return nil }
        var strings: [String] = []
        for element in object {
            guard let string = element as? String else { return nil }
            strings.append(string)
        }
        return strings
    }
}

/// A flat JSON object of string members, written without an encoder: what ingress enqueues for
/// each webhook is such an object, and Foundation's `JSONEncoder` took 6 % of the producer's CPU
/// per delivery (`perf` under `bench/ingress.sh`). Members are written in the order added (callers
/// add them sorted by key, as `JSONEncoder`'s `.sortedKeys` would); an absent value is left out,
/// as a synthesized `Encodable` leaves out a nil.
public struct JSONObjectText {
    private var text = "{"

    public init() {}

    public mutating func add(_ key: String, _ value: String?) {
        guard let value else { return }
        if text.utf8.count > 1 { text += "," }
        text += JSONString.quote(key)
        text += ":"
        text += JSONString.quote(value)
    }

    public var closed: String { text + "}" }
}
