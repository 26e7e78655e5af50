import Foundation
import Queue
import Services

/// Hetzner snapshots of the deployment's servers, rotated (queue `backups`).
///
/// `backup.snapshot` asks for one snapshot per server (the configured ids, or every server the
/// label selector finds), labelled as Switchboard's, with the server and the job that made it;
/// a retry of the same job finds the snapshots it already asked for by that label instead of
/// asking again. It hands the actions on to `backup.snapshot.follow`, which looks at them every
/// `poll` without holding a consumer slot in between (`JobResult.later`), for at most
/// `snapshotTimeout`. A server whose snapshot succeeded is rotated: the newest `keepSnapshots`
/// available snapshots carrying our labels for it are kept, older ones deleted. Nothing else is
/// ever deleted — not an image without our labels, not one still being made, and nothing of a server
/// whose snapshot failed or is still running. A failed snapshot dead-letters the job, naming the
/// server and Hetzner's error.
public enum SnapshotBackup {
    public static let queue = Backups.queue
    public static let kind = "backup.snapshot"
    public static let followKind = "backup.snapshot.follow"
    static let retry = RetryPolicy.exponentialJitter(maxAttempts: 6, base: .seconds(10), cap: .seconds(300))

    /// The labels every snapshot of ours carries; the selector finds exactly those.
    static let managed = ["managed-by": "switchboard", "switchboard-backup": "snapshot"]

    /// The labels of our snapshots of `server`.
    static func ours(_ server: Int) -> [String: String] {
        managed.merging(["switchboard-server": String(server)]) { _, server in server }
    }

    struct Request: Codable, Sendable {
        /// Servers to snapshot instead of the configured ones.
        var servers: [Int]?
    }

    struct Snapshot: Codable, Sendable, Equatable {
        var server: Int
        var image: Int
        /// The action making the image; 0 when a retry found the image without it.
        var action: Int
    }

    struct Follow: Codable, Sendable {
        var run: String
        var startedAt: UInt64
        var snapshots: [Snapshot]

        enum CodingKeys: String, CodingKey {
            case run, snapshots
            case startedAt = "started_at"
        }
    }

    /// The two kinds; without `backups` (a scheduler knowing what it may enqueue) they refuse to run.
    public static func definitions(_ backups: BackupServices?) -> [JobDefinition] {
        [
            JobDefinition(kind: kind, queue: queue, retry: retry, timeout: .seconds(300), payload: Request.self) { request, context in
                guard let settings = backups?.snapshots else {
                    throw JobFailure.permanent("this consumer has no HCLOUD_TOKEN: it cannot take snapshots")
                }
                let snapshots = try await start(settings, servers: request.servers, run: context.id)
                context.logger.info("snapshots asked for", metadata: ["servers": "\(snapshots.map(\.server))"])
                let follow = Follow(run: context.id, startedAt: WallClock.unixMilliseconds(), snapshots: snapshots)
                let text = String(decoding: try FlowPayloadCoding.encoder.encode(follow), as: UTF8.self)
                return .next(
                    JobRequest(
                        queue: queue, kind: followKind, payload: text, maxAttempts: retry.maxAttempts, dedupe: "backup:follow:\(context.id)"
                    ))
            },
            JobDefinition(kind: followKind, queue: queue, retry: retry, timeout: .seconds(300), payload: Follow.self) { follow, context in
                guard let backups, let settings = backups.snapshots else {
                    throw JobFailure.permanent("this consumer has no HCLOUD_TOKEN: it cannot follow snapshots")
                }
                return try await self.follow(
                    settings, follow, records: BackupRecords(pool: context.redis, keys: backups.keys), context: context)
            },
        ]
    }

    static func start(_ backups: SnapshotSettings, servers asked: [Int]?, run: String) async throws -> [Snapshot] {
        let servers: [Int]
        if let asked {
            servers = asked
        } else if let ids = backups.serverIDs {
            servers = ids
        } else {
            servers = try await backups.hetzner.servers(labelSelector: backups.serverSelector ?? "")
        }
        guard !servers.isEmpty else {
            throw JobFailure.permanent("no server to snapshot: BACKUP_SERVER_SELECTOR '\(backups.serverSelector ?? "")' matches none")
        }
        let stamp = ISO8601DateFormatter.string(
            from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate, .withTime])
        var snapshots: [Snapshot] = []
        for server in servers {
            var labels = ours(server)
            labels["switchboard-run"] = run
            // A retry of this job: the snapshot it asked for already exists.
            if let made = try await backups.hetzner.snapshots(labelSelector: selector(labels)).first {
                snapshots.append(Snapshot(server: server, image: made.id, action: 0))
                continue
            }
            let (image, action) = try await backups.hetzner.createImage(
                server: server, description: "switchboard-\(server)-\(stamp)", labels: labels)
            snapshots.append(Snapshot(server: server, image: image.id, action: action.id))
        }
        return snapshots
    }

    static func follow(_ backups: SnapshotSettings, _ follow: Follow, records: BackupRecords, context: JobContext) async throws -> JobResult
    {
        var running: [Int] = []
        var failed: [String] = []
        var succeeded: [Snapshot] = []
        for snapshot in follow.snapshots {
            switch try await state(of: snapshot, backups) {
            case .running: running.append(snapshot.server)
            case .failed(let why): failed.append("server \(snapshot.server): \(why)")
            case .done: succeeded.append(snapshot)
            }
        }
        if !running.isEmpty {
            let elapsed = Duration.milliseconds(Int64(WallClock.millisecondsSince(follow.startedAt)))
            guard elapsed < backups.snapshotTimeout else {
                throw JobFailure.permanent(
                    "snapshot of server \(running.map(String.init).joined(separator: ", ")) still running after \(backups.snapshotTimeout); nothing was rotated for it"
                )
            }
            return .later(backups.poll)
        }
        let finished = WallClock.unixMilliseconds()
        let took = WallClock.millisecondsSince(follow.startedAt, now: finished)
        for snapshot in succeeded {
            let (kept, deleted) = try await rotate(backups, server: snapshot.server)
            let made = kept.first { $0.id == snapshot.image }
            try await records.record(
                .init(
                    kind: "snapshot", name: String(snapshot.image), server: snapshot.server, finishedAt: finished,
                    durationMilliseconds: took, bytes: bytes(gigabytes: made?.image_size)))
            try await records.forget(kind: "snapshot", names: deleted.map(String.init))
            context.logger.info(
                "snapshot done and rotated",
                metadata: ["server": "\(snapshot.server)", "deleted": "\(deleted)", "kept": "\(backups.keepSnapshots)"])
        }
        if !failed.isEmpty {
            throw JobFailure.permanent("snapshot failed: " + failed.joined(separator: "; "))
        }
        return .done
    }

    enum State {
        case running
        case done
        case failed(String)
    }

    static func state(of snapshot: Snapshot, _ backups: SnapshotSettings) async throws -> State {
        if snapshot.action > 0 {
            let action = try await backups.hetzner.action(snapshot.action)
            switch action.status {
            case "success": return .done
            case "error": return .failed(action.error.map { "\($0.code): \($0.message)" } ?? "the action failed")
            default: return .running
            }
        }
        guard
            let image = try await backups.hetzner.snapshots(labelSelector: selector(ours(snapshot.server))).first(where: {
                $0.id == snapshot.image
            })
        else {
            return .failed("image \(snapshot.image) is gone")
        }
        return image.status == "available"
            ? .done : image.status == "creating" ? .running : .failed("image \(snapshot.image) is \(image.status)")
    }

    /// Deletes the server's available snapshots of ours beyond the newest `keepSnapshots`; returns
    /// the ones kept and the ids deleted.
    static func rotate(_ backups: SnapshotSettings, server: Int) async throws -> (kept: [HetznerClient.Image], deleted: [Int]) {
        let labels = ours(server)
        let available = try await backups.hetzner.snapshots(labelSelector: selector(labels)).filter { image in
            // The selector already says so; an image is deleted only if it says so itself too.
            labels.allSatisfy { image.labels?[$0.key] == $0.value } && image.status == "available"
                && (image.type ?? "snapshot") == "snapshot"
        }
        let newestFirst = available.sorted { ($0.created ?? "", $0.id) > ($1.created ?? "", $1.id) }
        let old = newestFirst.dropFirst(backups.keepSnapshots).map(\.id)
        for id in old { try await backups.hetzner.deleteImage(id) }
        return (Array(newestFirst.prefix(backups.keepSnapshots)), old)
    }

    /// Hetzner's image size (GB, a float) in bytes; nil for a size no disk has (negative, not
    /// finite, or past what bytes can count), which a service must not be able to crash us with.
    static func bytes(gigabytes: Double?) -> Int64? {
        guard let gigabytes, gigabytes.isFinite, gigabytes >= 0, gigabytes < 8_000_000_000 else { return nil }
        return Int64(gigabytes * 1_073_741_824)
    }

    static func selector(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}
