import Foundation
import Hummingbird
import Logging
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// `backup.attachments`: Chatwoot's attachment bucket (an S3 API in region us-east-1, as SeaweedFS
/// or MinIO serve it) mirrored into an R2 bucket, both fakes checking every signature, R2's
/// holding its equal-part rule (1 MiB parts here, so a 2.5 MiB attachment goes up in three).
@Suite struct AttachmentsMirrorTests {
    struct Setup {
        let redis: RedisServer
        let pool: RedisPool
        let keys: Keys
        let source: FakeS3
        let r2: FakeS3
        let settings: MirrorSettings

        init(refuseSource: @escaping @Sendable (FakeService.Received) async -> Response? = { _ in nil }) async throws {
            redis = try await RedisServer()
            pool = RedisPool(endpoint: redis.endpoint)
            keys = Keys(prefix: "mirror")
            source = try await FakeS3(
                bucket: "chatwoot", accessKeyID: "storage-key", secret: "storage-secret", region: "us-east-1", refuse: refuseSource)
            r2 = try await FakeS3(bucket: "backups", accessKeyID: "r2-key", secret: "r2-secret", smallestPart: 1 << 20)
            let http = HTTPClient(connections: 2)
            settings = MirrorSettings(
                source: S3Client(
                    endpoint: source.url, bucket: "chatwoot",
                    signer: SignatureV4(accessKeyID: "storage-key", secretAccessKey: "storage-secret", region: "us-east-1"), http: http),
                r2: R2Settings(
                    client: S3Client(
                        endpoint: r2.url, bucket: "backups",
                        signer: SignatureV4(accessKeyID: "r2-key", secretAccessKey: "r2-secret", region: "auto"), http: http),
                    partSize: 1 << 20, partRetryDelay: .milliseconds(10)),
                prefix: "switchboard/attachments/", graceDays: 30)
        }

        func put(_ key: String, _ body: [UInt8]) {
            source.objects.withLock { $0[key] = (body, "image/png") }
            source.etags.withLock { $0[key] = FakeS3.etag(body) }
            source.modified.withLock { $0[key] = Date() }
        }

        func run(now: UInt64 = WallClock.unixMilliseconds()) async throws -> AttachmentsMirror.Run {
            try await AttachmentsMirror.mirror(settings, redis: pool, keys: keys, logger: Logger(label: "test"), now: now)
        }

        var mirror: [String: [UInt8]] { r2.objects.value.mapValues(\.body) }
    }

    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed } }

    @Test func firstRunCopiesAllSecondNothingAChangedObjectAgainAndARemovedOneOutlivesTheGrace() async throws {
        let s = try await Setup()
        defer { s.pool.close() }
        let large = Self.bytes(5 << 19, seed: 1)
        s.put("rails/ab/photo.png", Self.bytes(1000, seed: 2))
        s.put("rails/cd/voice.ogg", Self.bytes(70_000, seed: 3))
        s.put("rails/ef/video.mp4", large)
        // Something of someone else's in the backup bucket: never touched.
        s.r2.objects.withLock { $0["elsewhere/keep.txt"] = (Array("keep".utf8), "text/plain") }

        let first = try await s.run()
        #expect(first.copied == 3 && first.unchanged == 0 && first.failed.isEmpty, "\(first)")
        #expect(s.mirror["switchboard/attachments/rails/ab/photo.png"] == Self.bytes(1000, seed: 2))
        #expect(s.mirror["switchboard/attachments/rails/ef/video.mp4"] == large)
        let parts = s.r2.requests.filter { $0.query.contains("partNumber=") }.map(\.body.count)
        #expect(parts == [1 << 20, 1 << 20, 1 << 19], "the large one streamed in equal parts: \(parts)")
        #expect(s.r2.uploads.value.isEmpty)

        let requestsBefore = s.r2.requests.count
        let second = try await s.run()
        #expect(second.copied == 0 && second.unchanged == 3, "\(second)")
        #expect(s.r2.requests.count == requestsBefore + 2, "the second run only lists the mirror (two pages)")

        s.put("rails/ab/photo.png", Self.bytes(1000, seed: 9))
        let third = try await s.run()
        #expect(third.copied == 1 && s.mirror["switchboard/attachments/rails/ab/photo.png"] == Self.bytes(1000, seed: 9), "\(third)")

        s.source.objects.withLock { $0["rails/cd/voice.ogg"] = nil }
        let fourth = try await s.run()
        #expect(fourth.removed == 0 && s.mirror["switchboard/attachments/rails/cd/voice.ogg"] != nil, "kept within the grace period")
        let day: UInt64 = 86_400_000
        let later = try await s.run(now: WallClock.unixMilliseconds() + 29 * day)
        #expect(later.removed == 0 && s.mirror["switchboard/attachments/rails/cd/voice.ogg"] != nil)
        let past = try await s.run(now: WallClock.unixMilliseconds() + 31 * day)
        #expect(past.removed == 1 && s.mirror["switchboard/attachments/rails/cd/voice.ogg"] == nil, "\(past)")
        #expect(s.mirror["elsewhere/keep.txt"] != nil && s.mirror.count == 3)
    }

    /// Chatwoot's bucket and the backup bucket both on moto's S3 server, an S3 that is not ours:
    /// what is mirrored is what was there, a large object in equal parts; a second run copies
    /// nothing; a removed object goes once the grace is over.
    @Test(.enabled(if: MotoS3Server.available, "moto[server] is not installed"))
    func theMirrorBetweenBucketsOfMotosS3() async throws {
        let moto = try await MotoS3Server(bucket: "chatwoot")
        try await moto.makeBucket("backups")
        let redis = try await RedisServer()
        let pool = RedisPool(endpoint: redis.endpoint)
        defer { pool.close() }
        let http = HTTPClient(connections: 2)
        let source = S3Client(
            endpoint: moto.url, bucket: "chatwoot", signer: SignatureV4(accessKeyID: "k", secretAccessKey: "s", region: "us-east-1"),
            http: http)
        let settings = MirrorSettings(
            source: source,
            r2: R2Settings(
                client: S3Client(
                    endpoint: moto.url, bucket: "backups", signer: SignatureV4(accessKeyID: "k", secretAccessKey: "s", region: "us-east-1"),
                    http: http),
                partSize: 5 << 20, partRetryDelay: .milliseconds(10)),
            prefix: "switchboard/attachments/", graceDays: 30)
        let large = Self.bytes(11 << 20, seed: 4)
        let small = Self.bytes(1000, seed: 5)
        try await source.put("rails/ab/video.mp4", body: large, contentType: "video/mp4")
        try await source.put("rails/cd/photo.png", body: small, contentType: "image/png")
        func run(_ now: UInt64 = WallClock.unixMilliseconds()) async throws -> AttachmentsMirror.Run {
            try await AttachmentsMirror.mirror(
                settings, redis: pool, keys: Keys(prefix: "motomirror"), logger: Logger(label: "test"), now: now)
        }
        let first = try await run()
        #expect(first.copied == 2 && first.failed.isEmpty, "\(first)")
        #expect(try await moto.object("backups", "switchboard/attachments/rails/ab/video.mp4") == large)
        #expect(try await settings.r2.client.get("switchboard/attachments/rails/cd/photo.png") == small)
        let second = try await run()
        #expect(second.copied == 0 && second.unchanged == 2, "\(second)")
        try await source.delete("rails/cd/photo.png")
        #expect(try await run().removed == 0)
        #expect(try await run(WallClock.unixMilliseconds() + 31 * 86_400_000).removed == 1)
        #expect(try await settings.r2.client.head("switchboard/attachments/rails/cd/photo.png") == nil)
        #expect(try await moto.object("backups", "switchboard/attachments/rails/ab/video.mp4") == large)
    }

    @Test func anInterruptedRunIsResumedCopyingOnlyWhatIsMissing() async throws {
        let failing = LockedValue(true)
        let s = try await Setup { received in
            received.method == "GET" && received.path.hasSuffix("/b.png") && failing.value ? FakeService.answer(.serviceUnavailable) : nil
        }
        defer { s.pool.close() }
        for name in ["a", "b", "c"] { s.put("rails/\(name).png", Self.bytes(2000, seed: UInt8(name.utf8.first!))) }
        let first = try await s.run()
        #expect(first.copied == 2 && first.failed.count == 1 && first.failed[0].contains("rails/b.png"), "\(first)")
        #expect(s.mirror["switchboard/attachments/rails/b.png"] == nil)
        failing.set(false)
        let putsBefore = s.r2.requests.filter { $0.method == "PUT" }.count
        let second = try await s.run()
        #expect(second.copied == 1 && second.unchanged == 2 && second.failed.isEmpty, "\(second)")
        #expect(s.r2.requests.filter { $0.method == "PUT" }.count == putsBefore + 1, "only the missing one was written")
        #expect(s.mirror["switchboard/attachments/rails/b.png"] == Self.bytes(2000, seed: UInt8(ascii: "b")))
    }

    @Test func aLargeObjectFailingMidCopyLeavesNoPartsBehind() async throws {
        let s = try await Setup()
        defer { s.pool.close() }
        s.put("rails/big.bin", Self.bytes(3 << 20, seed: 4))
        // The mirror refuses the second part for good (a 403 is not retried).
        let r2 = try await FakeS3(bucket: "backups", accessKeyID: "r2-key", secret: "r2-secret", smallestPart: 1 << 20) { received in
            received.query.contains("partNumber=2&") ? FakeService.answer(.forbidden) : nil
        }
        var settings = s.settings
        settings.r2.client = S3Client(
            endpoint: r2.url, bucket: "backups", signer: SignatureV4(accessKeyID: "r2-key", secretAccessKey: "r2-secret", region: "auto"),
            http: HTTPClient(connections: 2))
        let run = try await AttachmentsMirror.mirror(settings, redis: s.pool, keys: s.keys, logger: Logger(label: "test"))
        #expect(run.failed.count == 1 && run.copied == 0, "\(run)")
        #expect(
            r2.uploads.value.isEmpty && r2.objects.value.isEmpty
                && r2.requests.contains { $0.method == "DELETE" && $0.query.contains("uploadId=") })
    }

    /// The nightly entry run by a consumer process with the settings the stack gives it.
    @Test func theScheduledMirrorRunsInTheBackupsServiceAndIsListed() async throws {
        let s = try await Setup()
        defer { s.pool.close() }
        s.put("rails/ab/photo.png", Self.bytes(1000, seed: 2))
        s.put("rails/cd/voice.ogg", Self.bytes(3000, seed: 3))
        let h = ProcessHarness(server: s.redis)
        let consumer = try h.consumer(
            ["--queues", "backups"],
            environment: [
                "ATTACHMENTS_S3_ENDPOINT": s.source.url, "ATTACHMENTS_S3_BUCKET": "chatwoot", "ATTACHMENTS_S3_ACCESS_KEY_ID": "storage-key",
                "ATTACHMENTS_S3_SECRET_ACCESS_KEY": "storage-secret", "R2_ENDPOINT": s.r2.url, "R2_BUCKET": "backups",
                "R2_ACCESS_KEY_ID": "r2-key",
                "R2_SECRET_ACCESS_KEY": "r2-secret",
            ])
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        try await h.runScheduled("attachments-mirror")
        #expect(await eventually(timeout: .seconds(30)) { await h.backupsDrained() && s.mirror.count == 2 }, "\(consumer.log.suffix(2000))")
        #expect(s.mirror["switchboard/attachments/rails/cd/voice.ogg"] == Self.bytes(3000, seed: 3))
        #expect(try await h.firstBackupDeadLetter().isEmpty)
        let (_, json) = try await SwitchboardProcess.run(["backups", "list", "--json"] + h.common)
        let listed = jsonFields(Array(json.utf8))["backups"] as? [[String: Any]] ?? []
        #expect(listed.count == 1 && listed.first?["kind"] as? String == "attachments" && listed.first?["bytes"] as? Int == 4000, "\(json)")
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }
}
