import Services

/// The S3-API store behind an `s3://` `BLOB_STORE`: its endpoint (`https://<account>.r2.cloudflarestorage.com`
/// for R2), region (`auto` for R2) and keys, each setting also readable from `NAME_FILE`.
public struct S3Settings: Sendable {
    public var endpoint: String
    public var region: String
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(endpoint: String, region: String = "auto", accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.endpoint = endpoint
        self.region = region
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Every setting of the S3 blob store, and whether it must be set when `BLOB_STORE` is `s3://…`.
    public static let names: [(name: String, required: Bool)] = [
        ("BLOB_S3_ENDPOINT", true), ("BLOB_S3_REGION", false), ("BLOB_S3_ACCESS_KEY_ID", true),
        ("BLOB_S3_SECRET_ACCESS_KEY", true), ("BLOB_S3_SESSION_TOKEN", false),
    ]

    /// The settings from the environment, or nil when no endpoint is set; a partial set throws,
    /// naming what is missing.
    public static func from(_ setting: (String) throws -> String?) throws -> S3Settings? {
        guard let endpoint = try setting("BLOB_S3_ENDPOINT") else { return nil }
        guard let key = try setting("BLOB_S3_ACCESS_KEY_ID") else {
            throw ConfigurationError("BLOB_S3_ENDPOINT is set but BLOB_S3_ACCESS_KEY_ID is not")
        }
        guard let secret = try setting("BLOB_S3_SECRET_ACCESS_KEY") else {
            throw ConfigurationError("BLOB_S3_ENDPOINT is set but BLOB_S3_SECRET_ACCESS_KEY is not")
        }
        return S3Settings(
            endpoint: endpoint, region: try setting("BLOB_S3_REGION") ?? "auto", accessKeyID: key, secretAccessKey: secret,
            sessionToken: try setting("BLOB_S3_SESSION_TOKEN"))
    }
}
