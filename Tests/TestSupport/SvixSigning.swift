import Crypto
import Foundation

/// Signs a delivery as Svix (Guesty's webhook sender) does: HMAC-SHA256 over
/// `"{id}.{timestamp}.{body}"` with the base64 key after `whsec_`, sent as `v1,<base64>`.
public enum SvixSigning {
    /// `prefix` `webhook` gives the Standard Webhooks names a white-labelled Svix sends.
    public static func headers(
        _ body: String, id: String, timestamp: Int = Int(Date().timeIntervalSince1970), secret: String,
        prefix: String = "svix"
    ) -> [(String, String)] {
        let key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst("whsec_".count)))!)
        let signature = HMAC<SHA256>.authenticationCode(for: Array("\(id).\(timestamp).\(body)".utf8), using: key)
        return [
            (prefix + "-id", id), (prefix + "-timestamp", String(timestamp)),
            (prefix + "-signature", "v1,\(Data(signature).base64EncodedString())"),
        ]
    }
}
