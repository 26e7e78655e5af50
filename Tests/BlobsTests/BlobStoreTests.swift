import Foundation
import Services
import TestSupport
import Testing

@testable import Blobs

/// The blob store in both its forms — a local folder and an S3 bucket (against a fake that checks
/// every signature) — held to the same promises: a blob is visible whole or not at all, a blob
/// named per source is replaced rather than duplicated, references outside the store are refused.
@Suite struct BlobStoreTests {
    static let audio: [UInt8] = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }

    /// A store of each kind, with a way to list what it holds.
    static func store(_ kind: String) async throws -> (BlobStore, @Sendable () -> [String], FakeS3?) {
        if kind == "folder" {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-blobstore-\(UUID().uuidString)")
            let store = try BlobStore(location: "file://" + folder.path)
            return (
                store,
                {
                    let all = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? []
                    return all.filter { !$0.hasDirectoryPath }.map {
                        String($0.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1))
                    }.sorted()
                }, nil
            )
        }
        let s3 = try await FakeS3(bucket: "media", accessKeyID: "AK", secret: "sk")
        let store = try BlobStore(
            location: "s3://media/switchboard", s3: S3Settings(endpoint: s3.url, accessKeyID: "AK", secretAccessKey: "sk"))
        return (store, { s3.objects.value.keys.sorted() }, s3)
    }

    @Test(arguments: ["folder", "bucket"])
    func aBlobIsVisibleOnlyOnceCommittedAndReadsBackWhole(_ kind: String) async throws {
        let (store, contents, _) = try await Self.store(kind)
        let blob = try store.create(folder: "voice", fileExtension: "ogg")
        try await blob.append(Self.audio.prefix(20_000))
        try await blob.append(Self.audio.dropFirst(20_000))
        #expect(contents().filter { !$0.contains(".part") }.isEmpty, "nothing visible before the commit")
        try await blob.commit()
        #expect(blob.byteCount == Self.audio.count)
        #expect(try await store.read(blob.reference) == Self.audio)
        #expect(contents().count == 1 && contents()[0].hasSuffix(".ogg"))
        try await store.delete(blob.reference)
        try await store.delete(blob.reference)
        #expect(contents().isEmpty)
        let dropped = try store.create(folder: "voice", fileExtension: "ogg")
        try await dropped.append([1, 2, 3])
        dropped.abort()
        #expect(contents().isEmpty, "an aborted blob leaves nothing behind")
    }

    @Test(arguments: ["folder", "bucket"])
    func aBlobNamedPerSourceIsReplacedNotDuplicated(_ kind: String) async throws {
        let (store, contents, _) = try await Self.store(kind)
        for round in 0..<2 {
            let blob = try store.create(folder: "calls", name: "9001-recording.mp3")
            try await blob.append([UInt8(round)])
            try await blob.commit()
            #expect(try await store.read(blob.reference) == [UInt8(round)])
        }
        #expect(contents().count == 1)
        #expect(throws: BlobStoreError.self) { try store.create(folder: "calls", name: "../escape.mp3") }
    }

    /// A bucket blob larger than a part goes up in parts as it is appended, so a writer holds one
    /// part at most; it appears whole only on commit, and a cancelled one leaves no upload behind.
    @Test func aLargeBucketBlobGoesUpInPartsAndAppearsOnlyOnCommit() async throws {
        let s3 = try await FakeS3(bucket: "media", accessKeyID: "AK", secret: "sk", smallestPart: 64 << 10)
        let store = try BlobStore(
            location: "s3://media/switchboard", s3: S3Settings(endpoint: s3.url, accessKeyID: "AK", secretAccessKey: "sk"),
            partSize: s3.smallestPart)
        let blob = try store.create(folder: "calls", name: "812-recording.mp3")
        let total = 2 * s3.smallestPart + 12_345
        var written: [UInt8] = []
        while written.count < total {
            let piece = [UInt8](repeating: UInt8(truncatingIfNeeded: written.count / 20_000), count: min(20_000, total - written.count))
            try await blob.append(piece)
            written += piece
        }
        #expect(s3.uploads.value.values.first?.parts.count == 2, "two full parts uploaded while appending")
        #expect(s3.objects.value.isEmpty)
        try await blob.commit()
        let whole = try await store.read(blob.reference) == written
        #expect(whole)
        #expect(s3.uploads.value.isEmpty)
        let cancelled = try store.create(folder: "calls", name: "813-recording.mp3")
        try await cancelled.append([UInt8](repeating: 1, count: s3.smallestPart + 1))
        #expect(s3.uploads.value.count == 1)
        await cancelled.cancel()
        #expect(s3.uploads.value.isEmpty && s3.objects.value.count == 1, "the cancelled upload is gone, nothing appeared")
    }

    @Test(arguments: ["folder", "bucket"])
    func referencesOutsideTheStoreAreRefused(_ kind: String) async throws {
        let (store, _, _) = try await Self.store(kind)
        for reference in [
            "file:///etc/passwd", "s3://other-bucket/switchboard/voice/a.ogg", "s3://media/elsewhere/a.ogg", "https://example.com/a.ogg",
        ] {
            await #expect(throws: BlobStoreError.self, "\(reference)") { _ = try await store.read(reference) }
        }
    }

    @Test func aBucketWithoutItsSettingsIsRefusedNamingThem() throws {
        #expect { try BlobStore(location: "s3://media") } throws: { "\($0)".contains("BLOB_S3_ENDPOINT") }
        #expect { try BlobStore(location: "ftp://host/x") } throws: { "\($0)".contains("s3://") }
        #expect { _ = try S3Settings.from { $0 == "BLOB_S3_ENDPOINT" ? "http://127.0.0.1:9" : nil } } throws: {
            "\($0)".contains("BLOB_S3_ACCESS_KEY_ID")
        }
        #expect(try S3Settings.from { _ in nil } == nil)
        let settings = try #require(
            try S3Settings.from {
                [
                    "BLOB_S3_ENDPOINT": "https://acct.r2.cloudflarestorage.com", "BLOB_S3_ACCESS_KEY_ID": "a",
                    "BLOB_S3_SECRET_ACCESS_KEY": "s",
                ][$0]
            })
        #expect(settings.region == "auto", "R2's region by default")
    }

    @Test(arguments: ["folder", "bucket"])
    func aSweepRemovesOnlyWhatIsOlderThanTheCutoff(_ kind: String) async throws {
        let (store, contents, bucket) = try await Self.store(kind)
        var references: [String] = []
        for index in 0..<5 {
            let blob = try store.create(folder: "voice", fileExtension: "ogg")
            try await blob.append([UInt8](repeating: UInt8(index), count: 100 * (index + 1)))
            try await blob.commit()
            references.append(blob.reference)
        }
        // Age the first three by ten days.
        let old = Date().addingTimeInterval(-10 * 86_400)
        for reference in references.prefix(3) {
            if let bucket {
                bucket.modified.withLock { $0[String(reference.dropFirst("s3://media/".count))] = old }
            } else {
                try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: String(reference.dropFirst("file://".count)))
            }
        }
        let swept = try await store.sweep(olderThan: Date().addingTimeInterval(-86_400))
        #expect(swept == BlobStore.Swept(blobs: 3, bytes: 100 + 200 + 300))
        #expect(contents().count == 2)
        for reference in references.suffix(2) { #expect(try await store.read(reference).count > 0, "young blobs stay") }
        if let bucket {
            #expect(bucket.requests.filter { $0.query.contains("list-type=2") }.count == 3, "five objects, two per page: three pages")
        }
    }
}
