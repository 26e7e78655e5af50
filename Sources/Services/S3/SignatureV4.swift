import Crypto
import Foundation

/// AWS Signature Version 4 for the S3 API (Cloudflare R2, SeaweedFS, MinIO, AWS; docs/contracts.md §8):
/// the `Authorization` header over a canonical form of the request, with a key derived from the
/// secret, the day, the region and the service. The payload is signed by its SHA-256
/// (`x-amz-content-sha256`), so a body changed in transit fails the check.
public struct SignatureV4: Sendable {
    public let accessKeyID: String
    private let secretAccessKey: String
    public let region: String
    public let service: String
    /// Temporary credentials' `X-Amz-Security-Token`.
    public let sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, region: String, service: String = "s3", sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.service = service
        self.sessionToken = sessionToken
    }

    /// The headers to add to a request (`x-amz-date`, `x-amz-content-sha256`, the session token if
    /// any, and `Authorization`). `headers` are the request's own headers to sign besides those,
    /// `Host` among them; `path` is the URI path as sent, `query` its decoded parameters.
    public func sign(
        method: String, path: String, query: [(String, String)] = [], headers: [(String, String)], payloadHash: String,
        date: Date = Date()
    ) -> [(String, String)] {
        let stamp = UTCTime.basicTimestamp(date)
        let day = String(stamp.prefix(8))
        var added: [(String, String)] = [("x-amz-date", stamp), ("x-amz-content-sha256", payloadHash)]
        if let sessionToken { added.append(("x-amz-security-token", sessionToken)) }
        let signed = (headers + added).map { ($0.0.lowercased(), Self.trimmed($0.1)) }.sorted { $0.0 < $1.0 }
        let signedNames = signed.map(\.0).joined(separator: ";")
        let canonical = [
            method,
            Self.canonicalPath(path),
            query.map { (PercentEncoding.component($0.0), PercentEncoding.component($0.1)) }.sorted { $0 < $1 }.map { "\($0.0)=\($0.1)" }
                .joined(separator: "&"),
            signed.map { "\($0.0):\($0.1)\n" }.joined(),
            signedNames,
            payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let toSign = "AWS4-HMAC-SHA256\n\(stamp)\n\(scope)\n" + Hex.encode(SHA256.hash(data: Array(canonical.utf8)))
        var key = SymmetricKey(data: Array("AWS4\(secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        let signature = Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
        added.append(
            ("Authorization", "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope),SignedHeaders=\(signedNames),Signature=\(signature)"))
        return added
    }

    /// The SHA-256 of an empty payload, as S3 expects it for GET, HEAD and DELETE.
    public static let emptyPayloadHash = Hex.encode(SHA256.hash(data: [UInt8]()))

    /// The path with each segment percent-encoded once (S3 does not encode twice), slashes kept.
    static func canonicalPath(_ path: String) -> String {
        let decoded = path.split(separator: "/", omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? String($0) }
        let encoded = decoded.map(PercentEncoding.component).joined(separator: "/")
        return encoded.isEmpty ? "/" : encoded
    }

    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
