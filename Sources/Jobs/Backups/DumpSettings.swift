import Foundation
import Services

/// Database dumps: `DATABASE_URL` (or `_FILE`) of the PostgreSQL to dump, `PG_DUMP` (the
/// `pg_dump` to run, a path or a name on `PATH`; default `pg_dump`), `BACKUP_KEEP_DUMPS` (default
/// 14), `BACKUP_DUMP_PREFIX` (where in the R2 bucket, default `switchboard/dumps/`) and
/// `BACKUP_DUMP_TIMEOUT` (how long one dump may run, default 6h, 1m to 2d).
public struct DumpSettings: Sendable {
    public var database: DatabaseURL
    public var pgDump: String
    public var r2: R2Settings
    public var keepDumps: Int
    public var prefix: String
    public var timeout: Duration

    public init(
        database: DatabaseURL, pgDump: String, r2: R2Settings, keepDumps: Int = 14, prefix: String = "switchboard/dumps/",
        timeout: Duration = .seconds(21_600)
    ) {
        self.database = database
        self.pgDump = pgDump
        self.r2 = r2
        self.keepDumps = keepDumps
        self.prefix = prefix
        self.timeout = timeout
    }

    /// Where this database's dumps are: `<prefix><database>/`.
    var folder: String { prefix + database.keySafeName + "/" }

    static func configured(_ settings: BackupSettingReader, r2: R2Settings) throws -> DumpSettings? {
        guard let url = try settings.string("DATABASE_URL") else { return nil }
        let name = try settings.string("PG_DUMP") ?? "pg_dump"
        guard let pgDump = ExecutableSearch.find(name, path: try settings.string("PATH") ?? "/usr/local/bin:/usr/bin:/bin") else {
            throw ConfigurationError(
                "PG_DUMP '\(name)' is not an executable file (nor a name found on PATH): install postgresql-client or set PG_DUMP")
        }
        return DumpSettings(
            database: try DatabaseURL(url), pgDump: pgDump, r2: r2,
            keepDumps: try settings.count("BACKUP_KEEP_DUMPS", default: 14, within: 1...1000),
            prefix: try BackupSettingReader.folder("BACKUP_DUMP_PREFIX", try settings.string("BACKUP_DUMP_PREFIX") ?? "switchboard/dumps/"),
            timeout: try settings.duration("BACKUP_DUMP_TIMEOUT", default: .seconds(21_600), within: .seconds(60)...(.seconds(2 * 86_400))))
    }
}

/// Finds an executable as a shell would: a name with a slash is taken as it is, a bare name is
/// looked up in each folder of `PATH`.
enum ExecutableSearch {
    static func find(_ name: String, path: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

extension BackupSettingReader {
    /// A key prefix that names a folder: not empty, no leading slash, ending in one.
    static func folder(_ name: String, _ value: String) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, !trimmed.hasPrefix("/"), !trimmed.contains("//"), trimmed.utf8.count <= 512 else {
            throw ConfigurationError("\(name) '\(value)' is not a folder in the bucket, such as switchboard/dumps/")
        }
        return trimmed.hasSuffix("/") ? trimmed : trimmed + "/"
    }
}
