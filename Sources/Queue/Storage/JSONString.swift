import Foundation

/// The bits of JSON written by hand: a quoted string (also for the producer's small answers), an
/// array of strings, and flat objects of strings (`JSONObjectText`).
public enum JSONString {
    public static func quote(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2)
        append(quoting: text, to: &out)
        return out
    }

    /// Writes `text` quoted onto the end of `out`, with no string of its own in between: a text
    /// with nothing to escape (most of them) is scanned once as bytes and copied whole.
    public static func append(quoting text: String, to out: inout String) {
        var text = text
        let plain = text.withUTF8 { bytes in
            !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        out.append("\"")
        if plain {
            out.append(text)
        } else {
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out.append("\\\"")
                case "\\": out.append("\\\\")
                case "\n": out.append("\\n")
                case "\r": out.append("\\r")
                case "\t": out.append("\\t")
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
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

    /// `capacity`: bytes to make room for at once (a webhook's object is a few hundred).
    public init(capacity: Int = 512) {
        text.reserveCapacity(capacity)
    }

    public mutating func add(_ key: String, _ value: String?) {
        guard let value else { return }
        if text.utf8.count > 1 { text.append(",") }
        JSONString.append(quoting: key, to: &text)
        text.append(":")
        JSONString.append(quoting: value, to: &text)
    }

    public var closed: String { text + "}" }
}
