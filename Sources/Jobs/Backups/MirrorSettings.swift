import Foundation
import Services

/// The attachments mirror: Chatwoot's attachment bucket on any S3 API (SeaweedFS, MinIO, S3) —
/// `ATTACHMENTS_S3_ENDPOINT`, `ATTACHMENTS_S3_BUCKET`, `ATTACHMENTS_S3_ACCESS_KEY_ID`,
/// `ATTACHMENTS_S3_SECRET_ACCESS_KEY` (each also `_FILE`), `ATTACHMENTS_S3_REGION` (default
/// `us-east-1`), `ATTACHMENTS_S3_PREFIX` (only keys under it; default all) — copied into R2 under
/// `BACKUP_ATTACHMENTS_PREFIX` (default `switchboard/attachments/`). An object gone from the source
/// is removed from the mirror `BACKUP_ATTACHMENTS_GRACE_DAYS` (default 30, 0 to 3650) after it was
/// first seen gone; `BACKUP_ATTACHMENTS_TIMEOUT` bounds one run (default 6h, 1m to 2d).
public struct MirrorSettings: Sendable {
    public var source: S3Client
    public var sourcePrefix: String
    public var r2: R2Settings
    public var prefix: String
    public var graceDays: Int
    public var timeout: Duration

    public init(
        source: S3Client, sourcePrefix: String = "", r2: R2Settings, prefix: String = "switchboard/attachments/", graceDays: Int = 30,
        timeout: Duration = .seconds(21_600)
    ) {
        self.source = source
        self.sourcePrefix = sourcePrefix
        self.r2 = r2
        self.prefix = prefix
        self.graceDays = graceDays
        self.timeout = timeout
    }

    static func configured(_ settings: BackupSettingReader, r2: R2Settings, http: HTTPClient) throws -> MirrorSettings? {
        guard let endpoint = try settings.string("ATTACHMENTS_S3_ENDPOINT") else { return nil }
        guard HTTPClient.isWebURL(endpoint) else { throw ConfigurationError("ATTACHMENTS_S3_ENDPOINT '\(endpoint)' is not an http(s) URL") }
        let what = "the attachments mirror"
        let signer = SignatureV4(
            accessKeyID: try settings.required("ATTACHMENTS_S3_ACCESS_KEY_ID", for: what),
            secretAccessKey: try settings.required("ATTACHMENTS_S3_SECRET_ACCESS_KEY", for: what),
            region: try settings.string("ATTACHMENTS_S3_REGION") ?? "us-east-1",
            sessionToken: try settings.string("ATTACHMENTS_S3_SESSION_TOKEN"))
        let source = S3Client(
            endpoint: endpoint, bucket: try settings.required("ATTACHMENTS_S3_BUCKET", for: what), signer: signer, http: http)
        return MirrorSettings(
            source: source, sourcePrefix: try settings.string("ATTACHMENTS_S3_PREFIX") ?? "", r2: r2,
            prefix: try BackupSettingReader.folder(
                "BACKUP_ATTACHMENTS_PREFIX", try settings.string("BACKUP_ATTACHMENTS_PREFIX") ?? "switchboard/attachments/"),
            graceDays: try settings.count("BACKUP_ATTACHMENTS_GRACE_DAYS", default: 30, within: 0...3650),
            timeout: try settings.duration(
                "BACKUP_ATTACHMENTS_TIMEOUT", default: .seconds(21_600), within: .seconds(60)...(.seconds(2 * 86_400))))
    }
}
