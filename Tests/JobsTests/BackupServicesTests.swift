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
        let backups = try #require(try Self.configured(["HCLOUD_TOKEN": "t", "BACKUP_SERVER_SELECTOR": "role=chatwoot", "BACKUP_SNAPSHOT_POLL": "100ms",
                                                        "BACKUP_SNAPSHOT_TIMEOUT": "3h", "BACKUP_KEEP_SNAPSHOTS": "30"]))
        let snapshots = try #require(backups.snapshots)
        #expect(snapshots.poll == .milliseconds(100) && snapshots.snapshotTimeout == .seconds(10_800) && snapshots.keepSnapshots == 30)
        #expect(snapshots.serverIDs == nil && snapshots.serverSelector == "role=chatwoot")
        #expect(backups.dumps == nil && backups.attachments == nil)
        #expect { try Self.configured(["HCLOUD_TOKEN": "t"]) } throws: { "\($0)".contains("BACKUP_SERVER_IDS or BACKUP_SERVER_SELECTOR") }
    }
}
