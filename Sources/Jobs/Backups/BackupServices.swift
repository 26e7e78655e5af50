import Foundation
import Queue
import Services

/// What the backup jobs call out to and how they are told to behave, built once per consumer that
/// takes the `backups` queue. Each of the three backups is configured by its own settings and
/// runs only when they are present: snapshots with `HCLOUD_TOKEN`, database dumps with
/// `DATABASE_URL`, the attachments mirror with `ATTACHMENTS_S3_ENDPOINT`; dumps and mirror write
/// to R2 (`R2_*`). A job whose backup is not configured fails permanently, naming what is missing.
public struct BackupServices: Sendable {
    public var snapshots: SnapshotSettings?
    public var dumps: DumpSettings?
    public var attachments: MirrorSettings?
    /// The deployment's keys, where the backups made are recorded.
    public var keys: Keys

    public init(snapshots: SnapshotSettings? = nil, dumps: DumpSettings? = nil, attachments: MirrorSettings? = nil, keys: Keys = Keys()) {
        self.snapshots = snapshots
        self.dumps = dumps
        self.attachments = attachments
        self.keys = keys
    }

    /// The backups' services, or nil when none is configured and they are not `required` (a
    /// consumer that takes the `backups` queue needs at least one). Throws, naming the setting,
    /// for a missing or malformed one.
    public static func configured(
        required: Bool, keys: Keys = Keys(), http makeHTTP: @autoclosure () -> HTTPClient,
        setting: (String) throws -> String?
    ) throws -> BackupServices? {
        try withoutActuallyEscaping(setting) { setting in
            try configured(required: required, keys: keys, http: makeHTTP(), settings: BackupSettingReader(setting: setting))
        }
    }

    private static func configured(required: Bool, keys: Keys, http makeHTTP: @autoclosure () -> HTTPClient, settings: BackupSettingReader)
        throws -> BackupServices?
    {
        let wanted = try (
            snapshots: settings.string("HCLOUD_TOKEN") != nil, dumps: settings.string("DATABASE_URL") != nil,
            attachments: settings.string("ATTACHMENTS_S3_ENDPOINT") != nil
        )
        guard wanted.snapshots || wanted.dumps || wanted.attachments else {
            if required {
                throw ConfigurationError(
                    "the backups need HCLOUD_TOKEN (snapshots), DATABASE_URL (dumps) or ATTACHMENTS_S3_ENDPOINT (attachments mirror), each also as NAME_FILE"
                )
            }
            return nil
        }
        let http = makeHTTP()
        let snapshots = try SnapshotSettings.configured(settings, http: http)
        let r2 = wanted.dumps || wanted.attachments ? try R2Settings.configured(settings, http: http) : nil
        let dumps = try r2.flatMap { try DumpSettings.configured(settings, r2: $0) }
        let attachments = try r2.flatMap { try MirrorSettings.configured(settings, r2: $0, http: http) }
        return BackupServices(snapshots: snapshots, dumps: dumps, attachments: attachments, keys: keys)
    }
}

/// Hetzner snapshots: `HCLOUD_TOKEN` (or `_FILE`), `HCLOUD_BASE_URL`, `BACKUP_SERVER_IDS` (`12,34`)
/// or `BACKUP_SERVER_SELECTOR` (a Hetzner label selector), `BACKUP_KEEP_SNAPSHOTS` (default 7),
/// `BACKUP_SNAPSHOT_POLL` (how often a running snapshot is looked at, default 15s, 100ms to 1h)
/// and `BACKUP_SNAPSHOT_TIMEOUT` (how long it may run, default 2h, 1m to 7d).
public struct SnapshotSettings: Sendable {
    public var hetzner: HetznerClient
    public var serverIDs: [Int]?
    public var serverSelector: String?
    public var keepSnapshots: Int
    public var poll: Duration
    public var snapshotTimeout: Duration

    public init(
        hetzner: HetznerClient, serverIDs: [Int]? = nil, serverSelector: String? = nil, keepSnapshots: Int = 7,
        poll: Duration = .seconds(15), snapshotTimeout: Duration = .seconds(7200)
    ) {
        self.hetzner = hetzner
        self.serverIDs = serverIDs
        self.serverSelector = serverSelector
        self.keepSnapshots = keepSnapshots
        self.poll = poll
        self.snapshotTimeout = snapshotTimeout
    }

    static func configured(_ settings: BackupSettingReader, http: HTTPClient) throws -> SnapshotSettings? {
        guard let token = try settings.string("HCLOUD_TOKEN") else { return nil }
        var ids: [Int]?
        if let text = try settings.string("BACKUP_SERVER_IDS") {
            let parsed = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ConfigurationError("BACKUP_SERVER_IDS '\(text)' is not a list of server ids, e.g. 1234,5678")
            }
            ids = parsed.compactMap { $0 }
        }
        let selector = try settings.string("BACKUP_SERVER_SELECTOR")
        guard ids != nil || selector != nil else {
            throw ConfigurationError("the backups need BACKUP_SERVER_IDS or BACKUP_SERVER_SELECTOR (which servers to snapshot)")
        }
        return SnapshotSettings(
            hetzner: HetznerClient(
                baseURL: try settings.string("HCLOUD_BASE_URL") ?? "https://api.hetzner.cloud/v1", token: token, http: http),
            serverIDs: ids, serverSelector: selector,
            keepSnapshots: try settings.count("BACKUP_KEEP_SNAPSHOTS", default: 7, within: 1...1000),
            // A poll of a millisecond would put the follow-up back and run it again without pause.
            poll: try settings.duration("BACKUP_SNAPSHOT_POLL", default: .seconds(15), within: .milliseconds(100)...(.seconds(3600))),
            snapshotTimeout: try settings.duration(
                "BACKUP_SNAPSHOT_TIMEOUT", default: .seconds(7200), within: .seconds(60)...(.seconds(7 * 86_400))))
    }
}

/// The R2 bucket the dumps and the attachments mirror are written to: `R2_ENDPOINT` (or
/// `R2_ACCOUNT_ID`, for `https://<account>.r2.cloudflarestorage.com`), `R2_BUCKET`,
/// `R2_ACCESS_KEY_ID`, `R2_SECRET_ACCESS_KEY` (each also `_FILE`), `R2_REGION` (default `auto`),
/// and `BACKUP_PART_SIZE`, the size of every uploaded part but the last (default 16MiB, 5MiB to
/// 512MiB): what a backup holds in memory is about twice that.
public struct R2Settings: Sendable {
    public var client: S3Client
    public var partSize: Int
    /// How long a failed part waits before its first retry (doubling after).
    public var partRetryDelay: Duration

    public init(client: S3Client, partSize: Int = 16 << 20, partRetryDelay: Duration = .seconds(1)) {
        self.client = client
        self.partSize = partSize
        self.partRetryDelay = partRetryDelay
    }

    var uploader: EqualPartUpload { EqualPartUpload(client: client, partSize: partSize, retryDelay: partRetryDelay) }

    /// The R2 settings alone, for a command that reads the backups back.
    public static func configured(http: HTTPClient, setting: (String) throws -> String?) throws -> R2Settings {
        try withoutActuallyEscaping(setting) { try configured(BackupSettingReader(setting: $0), http: http) }
    }

    static func configured(_ settings: BackupSettingReader, http: HTTPClient) throws -> R2Settings {
        let endpoint: String
        if let given = try settings.string("R2_ENDPOINT") {
            endpoint = given
        } else if let account = try settings.string("R2_ACCOUNT_ID") {
            endpoint = "https://\(account).r2.cloudflarestorage.com"
        } else {
            throw ConfigurationError("the dumps and the attachments mirror need R2_ENDPOINT or R2_ACCOUNT_ID")
        }
        guard HTTPClient.isWebURL(endpoint) else { throw ConfigurationError("R2_ENDPOINT '\(endpoint)' is not an http(s) URL") }
        let signer = SignatureV4(
            accessKeyID: try settings.required("R2_ACCESS_KEY_ID", for: "R2"),
            secretAccessKey: try settings.required("R2_SECRET_ACCESS_KEY", for: "R2"),
            region: try settings.string("R2_REGION") ?? "auto")
        let partSize = try settings.bytes("BACKUP_PART_SIZE", default: 16 << 20, within: EqualPartUpload.smallestPart...(512 << 20))
        return R2Settings(
            client: S3Client(endpoint: endpoint, bucket: try settings.required("R2_BUCKET", for: "R2"), signer: signer, http: http),
            partSize: partSize,
            partRetryDelay: try settings.duration(
                "BACKUP_PART_RETRY_DELAY", default: .seconds(1), within: .milliseconds(10)...(.seconds(60))))
    }
}

/// Reads the backups' settings, refusing a malformed one by name.
struct BackupSettingReader {
    let setting: (String) throws -> String?

    func string(_ name: String) throws -> String? { try setting(name) }

    func required(_ name: String, for what: String) throws -> String {
        guard let value = try setting(name) else { throw ConfigurationError("\(what) needs \(name) (or \(name)_FILE)") }
        return value
    }

    func count(_ name: String, default value: Int, within bounds: ClosedRange<Int>) throws -> Int {
        guard let text = try setting(name) else { return value }
        guard let number = Int(text), bounds.contains(number) else {
            throw ConfigurationError("\(name) '\(text)' is not a number from \(bounds.lowerBound) to \(bounds.upperBound)")
        }
        return number
    }

    func duration(_ name: String, default value: Duration, within bounds: ClosedRange<Duration>) throws -> Duration {
        guard let text = try setting(name) else { return value }
        guard let parsed = RetryBudgets.duration(text), bounds.contains(parsed) else {
            throw ConfigurationError(
                "\(name) '\(text)' is not a duration from \(bounds.lowerBound) to \(bounds.upperBound), such as 15s, 2m or 2h")
        }
        return parsed
    }

    /// `16MiB`, `8MB` (taken as MiB), `5242880`.
    func bytes(_ name: String, default value: Int, within bounds: ClosedRange<Int>) throws -> Int {
        guard let text = try setting(name) else { return value }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int)] = [
            ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("", 1),
        ]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let number = Int(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), number >= 0 else { break }
            let (total, overflow) = number.multipliedReportingOverflow(by: scale)
            if !overflow, bounds.contains(total) { return total }
            break
        }
        throw ConfigurationError(
            "\(name) '\(text)' is not a size from \(bounds.lowerBound >> 20)MiB to \(bounds.upperBound >> 20)MiB, such as 16MiB")
    }
}
