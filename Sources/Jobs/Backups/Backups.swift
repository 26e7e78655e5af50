import Queue

/// The three backups, all on queue `backups`: Hetzner snapshots (`backup.snapshot`, followed by
/// `backup.snapshot.follow`), database dumps (`backup.database`) and the attachments mirror
/// (`backup.attachments`). Each runs when its settings are given (see `BackupServices`).
public enum Backups {
    public static let queue = "backups"

    /// The kinds a schedule starts; the follow-up is only ever enqueued by a snapshot job.
    public static let scheduled: Set<String> = [SnapshotBackup.kind, DatabaseDump.kind, AttachmentsMirror.kind]

    public static func definitions(_ backups: BackupServices?) -> [JobDefinition] {
        SnapshotBackup.definitions(backups) + DatabaseDump.definitions(backups) + AttachmentsMirror.definitions(backups)
    }
}
