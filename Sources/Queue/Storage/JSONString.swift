import Foundation

/// The two bits of JSON written by hand: a quoted string (also for the producer's small answers)
/// and an array of strings.
public enum JSONString {
    public static func quote(_ text: String) -> String {
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
