import Jobs
import Services
import Testing

/// The backups' settings as an operator may get them wrong.
@Suite struct BackupServicesTests {
    static func configured(_ settings: [String: String]) throws -> BackupServices? {
        try BackupServices.configured(required: true, http: HTTPClient(connections: 1)) { settings[$0] }
    }

    @Test(arguments: [
        ("BACKUP_SNAPSHOT_POLL", "1ms"), ("BACKUP_SNAPSHOT_POLL", "2h"), ("BACKUP_SNAPSHOT_POLL", "0s"),
        ("BACKUP_SNAPSHOT_TIMEOUT", "1s"), ("BACKUP_SNAPSHOT_TIMEOUT", "30d"), ("BACKUP_KEEP_SNAPSHOTS", "0"),
        ("BACKUP_KEEP_SNAPSHOTS", "99999999999999999999"), ("BACKUP_SERVER_IDS", "12,-3"), ("BACKUP_SERVER_IDS", ","),
    ])
    func aHostileSettingIsRefusedNamingIt(_ name: String, _ value: String) {
        #expect {
            try Self.configured(["HCLOUD_TOKEN": "t", "BACKUP_SERVER_IDS": "12"].merging([name: value]) { _, hostile in hostile })
        } throws: { "\($0)".contains(name) }
    }

    @Test func sensibleSettingsAreTaken() throws {
        let backups = try #require(
            try Self.configured([
                "HCLOUD_TOKEN": "t", "BACKUP_SERVER_SELECTOR": "role=chatwoot", "BACKUP_SNAPSHOT_POLL": "100ms",
                "BACKUP_SNAPSHOT_TIMEOUT": "3h", "BACKUP_KEEP_SNAPSHOTS": "30",
            ]))
        let snapshots = try #require(backups.snapshots)
        #expect(snapshots.poll == .milliseconds(100) && snapshots.snapshotTimeout == .seconds(10_800) && snapshots.keepSnapshots == 30)
        #expect(snapshots.serverIDs == nil && snapshots.serverSelector == "role=chatwoot")
        #expect(backups.dumps == nil && backups.attachments == nil)
        #expect { try Self.configured(["HCLOUD_TOKEN": "t"]) } throws: { "\($0)".contains("BACKUP_SERVER_IDS or BACKUP_SERVER_SELECTOR") }
    }

    static let dumpSettings = [
        "DATABASE_URL": "postgres://u:p@db/chatwoot", "PG_DUMP": "/bin/sh", "R2_ENDPOINT": "https://acct.r2.cloudflarestorage.com",
        "R2_BUCKET": "b", "R2_ACCESS_KEY_ID": "k", "R2_SECRET_ACCESS_KEY": "s",
    ]

    /// Sizes, counts and names an operator (or a typo) could give the dumps and the mirror: each
    /// refused at start, naming the setting, none read as something else.
    @Test(arguments: [
        ("BACKUP_PART_SIZE", "1MiB"), ("BACKUP_PART_SIZE", "-5MiB"), ("BACKUP_PART_SIZE", "99999999999999999999GiB"),
        ("BACKUP_PART_SIZE", "9223372036854775807GiB"), ("BACKUP_PART_SIZE", "16 MB of memory"), ("BACKUP_KEEP_DUMPS", "0"),
        ("BACKUP_DUMP_TIMEOUT", "1s"), ("BACKUP_DUMP_PREFIX", "/abs/"), ("BACKUP_DUMP_PREFIX", "a//b"), ("PG_DUMP", "/nonexistent/pg_dump"),
        ("DATABASE_URL", "mysql://u:p@db/x"), ("R2_ENDPOINT", "file:///etc"), ("BACKUP_PART_RETRY_DELAY", "0s"),
    ])
    func aHostileDumpSettingIsRefusedNamingIt(_ name: String, _ value: String) {
        #expect {
            try Self.configured(Self.dumpSettings.merging([name: value]) { _, hostile in hostile })
        } throws: { "\($0)".contains(name) }
    }

    @Test func aMirrorWithoutItsCredentialsOrWithAHostileGraceIsRefused() {
        let mirror = Self.dumpSettings.merging([
            "ATTACHMENTS_S3_ENDPOINT": "https://storage.example.com", "ATTACHMENTS_S3_BUCKET": "chatwoot",
            "ATTACHMENTS_S3_ACCESS_KEY_ID": "k", "ATTACHMENTS_S3_SECRET_ACCESS_KEY": "s",
        ]) { _, new in new }
        #expect { try Self.configured(mirror.merging(["BACKUP_ATTACHMENTS_GRACE_DAYS": "-1"]) { _, new in new }) } throws: {
            "\($0)".contains("BACKUP_ATTACHMENTS_GRACE_DAYS")
        }
        #expect { try Self.configured(mirror.filter { $0.key != "ATTACHMENTS_S3_BUCKET" }) } throws: {
            "\($0)".contains("ATTACHMENTS_S3_BUCKET")
        }
        #expect { try Self.configured(mirror.filter { $0.key != "R2_BUCKET" }) } throws: { "\($0)".contains("R2_BUCKET") }
    }

    @Test func sensibleDumpSettingsAreTaken() throws {
        let backups = try #require(
            try Self.configured(
                Self.dumpSettings.merging(["BACKUP_PART_SIZE": "32MiB", "BACKUP_DUMP_PREFIX": "backups/pg"]) { _, new in new }))
        let dumps = try #require(backups.dumps)
        #expect(dumps.r2.partSize == 32 << 20 && dumps.prefix == "backups/pg/" && dumps.keepDumps == 14 && dumps.pgDump == "/bin/sh")
        #expect(backups.snapshots == nil && backups.attachments == nil)
    }
}
