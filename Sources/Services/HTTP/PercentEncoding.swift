import Foundation

/// RFC 3986 percent-encoding of a URL component: every byte of its UTF-8 form but the unreserved
/// characters (`A–Z a–z 0–9 - . _ ~`) becomes `%XX` (upper-case hex). One spelling for every
/// client, because SigV4 signs exactly this form and a query Chatwoot reads must survive `+`, `@`, `&`.
public enum PercentEncoding {
    public static func component(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
