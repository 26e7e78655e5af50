import Digests
import Foundation

/// Signs a delivery as Svix (Guesty's webhook sender) does: HMAC-SHA256 over
/// `"{id}.{timestamp}.{body}"` with the base64 key after `whsec_`, sent as `v1,<base64>`.
public enum SvixSigning {
    public static func headers(_ body: String, id: String, timestamp: Int = Int(Date().timeIntervalSince1970), secret: String) -> [(String, String)] {
        let key = Array(Data(base64Encoded: String(secret.dropFirst("whsec_".count)))!)
        let signature = HMAC.sha256(key: key, message: Array("\(id).\(timestamp).\(body)".utf8))
        return [("svix-id", id), ("svix-timestamp", String(timestamp)), ("svix-signature", "v1,\(Data(signature).base64EncodedString())")]
    }
}
