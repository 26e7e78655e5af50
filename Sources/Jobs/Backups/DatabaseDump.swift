import Foundation
import Logging
import Queue
import Services

/// `backup.database` (queue `backups`): a `pg_dump --format=custom` of `DATABASE_URL`, streamed
/// as it is made into an R2 multipart upload, checked, then rotated.
///
/// The dump never sits whole in memory or on disk: `pg_dump` writes into a pipe read at the
/// upload's pace, so memory stays about two parts (`BACKUP_PART_SIZE`) whatever the database's
/// size. Each run writes a new object, `<prefix><database>/<UTC time>-<job id>.dump`; a failed run
/// (pg_dump failing, the server going away, a part refused for good, cancellation) aborts its
/// upload and leaves every earlier dump as it was. After a dump is complete and verified (size
/// and multipart ETag), the newest `BACKUP_KEEP_DUMPS` dumps of that database are kept and older
/// ones deleted — only objects named as this job names them, nothing else under the prefix.
///
/// The password is given to `pg_dump` in `PGPASSWORD`, never in its arguments, and masked in any
/// message. A `pg_dump` older than the server refuses to dump; that is a permanent failure
/// naming both versions (point `PG_DUMP` at a newer one).
public enum DatabaseDump {
    public static let queue = Backups.queue
    public static let kind = "backup.database"
    static let retry = RetryPolicy.exponentialJitter(maxAttempts: 4, base: .seconds(60), cap: .seconds(900))

    struct Request: Codable, Sendable {}

    public static func definitions(_ backups: BackupServices?) -> [JobDefinition] {
        [
            JobDefinition(
                kind: kind, queue: queue, retry: retry, timeout: backups?.dumps?.timeout ?? .seconds(21_600), restartable: true,
                payload: Request.self
            ) { _, context in
                guard let backups, let settings = backups.dumps else {
                    throw JobFailure.permanent("this consumer has no DATABASE_URL and R2 settings: it cannot dump the database")
                }
                try await run(
                    settings, records: BackupRecords(pool: context.redis, keys: backups.keys), job: context.id, logger: context.logger)
                return .done
            }
        ]
    }

    static func run(_ settings: DumpSettings, records: BackupRecords, job: String, logger: Logger) async throws {
        let started = WallClock.unixMilliseconds()
        let key = settings.folder + objectName(at: Date(timeIntervalSince1970: TimeInterval(started) / 1000), job: job)
        logger.info("dumping the database", metadata: ["database": "\(settings.database.withoutPassword)", "object": "\(key)"])
        let written: EqualPartUpload.Written
        do {
            written = try await settings.r2.uploader.upload(key, contentType: "application/octet-stream") { write in
                try await PostgresDump(settings: settings).run(into: write)
            }
        } catch let failure as UploadFailure {
            throw JobFailure.retryable(settings.database.redacting(failure.description))
        }
        let finished = WallClock.unixMilliseconds()
        try await records.record(
            .init(
                kind: "dump", name: key, finishedAt: finished, durationMilliseconds: finished - min(started, finished), bytes: written.bytes
            ))
        let deleted = try await rotate(settings)
        try await records.forget(kind: "dump", names: deleted)
        logger.info(
            "database dumped and rotated",
            metadata: [
                "object": "\(key)", "bytes": "\(written.bytes)", "parts": "\(written.parts)",
                "deleted": "\(deleted)", "kept": "\(settings.keepDumps)",
            ])
    }

    /// `20261129T023000Z-<job id>.dump`: sorts by time, and the job's id tells runs apart.
    static func objectName(at date: Date, job: String) -> String {
        "\(UTCTime.basicTimestamp(date))-\(job).dump"
    }

    /// Whether `name` (a key without the folder) is one this job made.
    static func isOurs(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count == 16 + 1 + 26 + 5, name.hasSuffix(".dump"), bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z"),
            bytes[16] == UInt8(ascii: "-")
        else { return false }
        let digits = bytes[0..<8] + bytes[9..<15]
        return digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            && bytes[17..<43].allSatisfy {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
            }
    }

    /// Deletes this database's dumps beyond the newest `keepDumps`; returns the keys deleted.
    static func rotate(_ settings: DumpSettings) async throws -> [String] {
        let folder = settings.folder
        let ours = try await settings.r2.client.list(prefix: folder).map(\.key).filter { key in
            let name = key.dropFirst(folder.count)
            return !name.contains("/") && isOurs(String(name))
        }
        let old = Array(ours.sorted(by: >).dropFirst(settings.keepDumps))
        for key in old { try await settings.r2.client.delete(key) }
        return old
    }
}
