import Foundation
import Queue
import Redis
import Services

/// The attachments mirror's copies of what Chatwoot has deleted. Chatwoot's storage keys name no
/// contact, so once Chatwoot deleted a person (the first step of a deletion request) their
/// attachments can only be told apart as objects gone from Chatwoot's bucket; the mirror keeps
/// those for `BACKUP_ATTACHMENTS_GRACE_DAYS`. A forget removes them all at once — everything
/// Chatwoot deleted, whoever it was — and says so.
struct HeldMirror {
    let settings: MirrorSettings
    let pool: RedisPool
    let keys: Keys

    func sweep(forget: Bool) async throws -> PlaceReport {
        var report = PlaceReport("attachments mirror")
        var present = Set<String>()
        try await settings.source.forEachPage(prefix: settings.sourcePrefix) { page in
            for object in page { present.insert(settings.prefix + object.key.dropFirst(settings.sourcePrefix.count)) }
        }
        var gone: [S3Client.Object] = []
        try await settings.r2.client.forEachPage(prefix: settings.prefix) { page in
            for object in page where !present.contains(object.key) {
                report.add(
                    "\(object.key.dropFirst(settings.prefix.count)) (\(object.size) bytes), deleted in Chatwoot", at: object.lastModified)
                gone.append(object)
            }
        }
        report.notes.append(
            "Chatwoot's storage keys name no one: these are every attachment Chatwoot has deleted that the mirror still keeps, this person's among them"
        )
        guard forget else { return report }
        for object in gone {
            try await settings.r2.client.delete(object.key)
            let source = settings.sourcePrefix + object.key.dropFirst(settings.prefix.count)
            _ = try await pool.pipeline([
                RedisCommand("HDEL", [keys.mirrorGone, object.key]), RedisCommand("HDEL", [keys.mirrored, source]),
            ])
            report.removed += 1
        }
        return report
    }
}
