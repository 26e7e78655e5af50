import Foundation
import Logging
import Queue
import Redis
import Services

/// `backup.attachments` (queue `backups`): Chatwoot's attachment bucket mirrored into R2.
///
/// Both sides are listed (paged); an object is copied when the mirror lacks it or the source
/// changed since it was copied (its size and ETag, remembered in Redis per key, since a copy's
/// ETag differs from a multipart source's). Copies are streamed: an object up to one part is
/// read and written whole (bounded by `BACKUP_PART_SIZE`), a larger one goes through a multipart
/// upload fed as it downloads. Each copy is remembered as soon as it is done, so a run cut short
/// (a timeout, a restart, a failed object) is resumed by the next, which copies only what is
/// missing. An object removed at the source stays in the mirror for the grace period after it
/// was first seen gone, then is removed; nothing outside the mirror's prefix is ever touched.
public enum AttachmentsMirror {
    public static let queue = Backups.queue
    public static let kind = "backup.attachments"
    static let retry = RetryPolicy.exponentialJitter(maxAttempts: 4, base: .seconds(60), cap: .seconds(900))

    struct Request: Codable, Sendable {}

    /// What one run did.
    struct Run: Sendable, Equatable {
        var copied = 0
        var copiedBytes: Int64 = 0
        var unchanged = 0
        var removed = 0
        var failed: [String] = []
        var mirroredBytes: Int64 = 0
    }

    public static func definitions(_ backups: BackupServices?) -> [JobDefinition] {
        [
            JobDefinition(
                kind: kind, queue: queue, retry: retry, timeout: backups?.attachments?.timeout ?? .seconds(21_600), restartable: true,
                payload: Request.self
            ) { _, context in
                guard let backups, let settings = backups.attachments else {
                    throw JobFailure.permanent(
                        "this consumer has no ATTACHMENTS_S3_ENDPOINT and R2 settings: it cannot mirror the attachments")
                }
                let started = WallClock.unixMilliseconds()
                let run = try await mirror(settings, redis: context.redis, keys: backups.keys, logger: context.logger)
                let finished = WallClock.unixMilliseconds()
                try await BackupRecords(pool: context.redis, keys: backups.keys).record(
                    .init(
                        kind: "attachments", name: settings.prefix, finishedAt: finished,
                        durationMilliseconds: finished - min(started, finished), bytes: run.mirroredBytes))
                context.logger.info(
                    "attachments mirrored",
                    metadata: [
                        "copied": "\(run.copied)", "bytes": "\(run.copiedBytes)", "unchanged": "\(run.unchanged)",
                        "removed": "\(run.removed)", "failed": "\(run.failed.count)",
                    ])
                guard run.failed.isEmpty else {
                    throw JobFailure.retryable(
                        "\(run.failed.count) attachment(s) not copied, the next run resumes: "
                            + run.failed.prefix(3).joined(separator: "; "))
                }
                return .done
            }
        ]
    }

    static func mirror(_ settings: MirrorSettings, redis: RedisPool, keys: Keys, logger: Logger, now: UInt64 = WallClock.unixMilliseconds())
        async throws -> Run
    {
        let sources = try await settings.source.list(prefix: settings.sourcePrefix)
        let mirrored = Dictionary(try await settings.r2.client.list(prefix: settings.prefix).map { ($0.key, $0) }) { first, _ in first }
        var copiedAs = [String: String]()
        for pair in try await redis.send("HGETALL", keys.mirrored).pairs { copiedAs[pair.key] = pair.value.string }
        var run = Run()
        var present = Set<String>()
        for object in sources {
            try Task.checkCancellation()
            let target = settings.prefix + object.key.dropFirst(settings.sourcePrefix.count)
            present.insert(target)
            let signature = "\(object.size) \(object.etag)"
            if let copy = mirrored[target], copy.size == object.size, copiedAs[object.key] == signature || copy.etag == object.etag {
                if copiedAs[object.key] != signature { try await redis.send("HSET", keys.mirrored, object.key, signature) }
                run.unchanged += 1
                run.mirroredBytes += Int64(copy.size)
                continue
            }
            do {
                try await copy(object, to: target, settings)
                try await redis.send("HSET", keys.mirrored, object.key, signature)
                run.copied += 1
                run.copiedBytes += Int64(object.size)
                run.mirroredBytes += Int64(object.size)
            } catch let failure as HTTPFailure where failure.status == 404 {
                // Removed at the source between the listing and the copy: nothing to mirror.
                continue
            } catch let error as CancellationError {
                throw error
            } catch {
                logger.warning("attachment not copied", metadata: ["key": "\(object.key)", "error": "\(error)"])
                run.failed.append("\(object.key): \(error)")
            }
        }
        let gone = Dictionary(try await redis.send("HGETALL", keys.mirrorGone).pairs.map { ($0.key, UInt64($0.value.string ?? "") ?? now) })
        { first, _ in first }
        let back = gone.keys.filter { present.contains($0) }
        if !back.isEmpty { try await redis.send(RedisCommand("HDEL", [keys.mirrorGone] + back)) }
        let grace = UInt64(settings.graceDays) * 86_400_000
        for (key, copy) in mirrored where !present.contains(key) {
            let since = gone[key] ?? now
            if gone[key] == nil { try await redis.send("HSET", keys.mirrorGone, key, String(now)) }
            guard now >= since, now - since >= grace else {
                run.mirroredBytes += Int64(copy.size)
                continue
            }
            try await settings.r2.client.delete(key)
            try await redis.send("HDEL", keys.mirrorGone, key)
            try await redis.send("HDEL", keys.mirrored, settings.sourcePrefix + key.dropFirst(settings.prefix.count))
            run.removed += 1
        }
        return run
    }

    /// One object, streamed from the source into the mirror.
    static func copy(_ object: S3Client.Object, to target: String, _ settings: MirrorSettings) async throws {
        let partSize = settings.r2.partSize
        if object.size <= partSize {
            var body: [UInt8] = []
            try await settings.source.download(object.key, buffer: min(partSize, 4 << 20)) { piece in
                guard body.count + piece.count <= partSize else {
                    throw UploadFailure("\(object.key) grew past its listed \(object.size) bytes while copied")
                }
                body += piece
            }
            try await settings.r2.client.put(target, body: body, contentType: "application/octet-stream")
            return
        }
        _ = try await settings.r2.uploader.upload(target) { write in
            try await settings.source.download(object.key, buffer: 4 << 20, into: write)
        }
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// The attachments mirror: source key → `size etag` of the source object last copied (a hash).
    public var mirrored: String { named("backups:mirrored") }
    /// Mirrored objects whose source is gone: mirror key → Unix ms when first seen gone (a hash).
    public var mirrorGone: String { named("backups:gone") }
}
