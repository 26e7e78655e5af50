import Foundation
import Hummingbird
import Services
import TestSupport
import Testing

/// A stream of unknown length uploaded in equal parts to an S3 endpoint that holds R2's rules:
/// what is retried, what aborts, and what is checked once the object exists.
@Suite struct EqualPartUploadTests {
    static func client(_ s3: FakeS3) -> S3Client {
        S3Client(
            endpoint: s3.url, bucket: "backups", signer: SignatureV4(accessKeyID: "key", secretAccessKey: "secret", region: "auto"),
            http: HTTPClient(connections: 2))
    }

    static func source(_ bytes: [UInt8], piece: Int) -> EqualPartUpload.Source {
        { write in
            var offset = 0
            while offset < bytes.count {
                try await write(Array(bytes[offset..<min(offset + piece, bytes.count)]))
                offset += piece
            }
        }
    }

    static let body = (0..<(2_600_000)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }

    @Test func aStreamBecomesEqualPartsAndTheMultipartETagIsChecked() async throws {
        let s3 = try await FakeS3(bucket: "backups", accessKeyID: "key", secret: "secret", smallestPart: 1 << 20)
        let upload = EqualPartUpload(client: Self.client(s3), partSize: 1 << 20, retryDelay: .milliseconds(5))
        // Pieces that do not line up with the parts.
        let written = try await upload.upload("dumps/a.dump", from: Self.source(Self.body, piece: 300_007))
        #expect(written.bytes == Int64(Self.body.count) && written.parts == 3)
        #expect(s3.objects.value["dumps/a.dump"]?.body == Self.body)
        #expect(written.etag == s3.etags.value["dumps/a.dump"] && written.etag.hasSuffix("-3\""))
        #expect(
            s3.requests.filter { $0.query.contains("partNumber=") }.map(\.body.count) == [1 << 20, 1 << 20, Self.body.count - (2 << 20)])
    }

    @Test func aPartFailingForAWhileIsRetriedOnItsOwn() async throws {
        let failures = LockedValue(2)
        let s3 = try await FakeS3(bucket: "backups", accessKeyID: "key", secret: "secret", smallestPart: 1 << 20) { received in
            guard received.query.contains("partNumber=2&") else { return nil }
            return failures.withLock { left in
                guard left > 0 else { return nil }
                left -= 1
                return FakeService.answer(.tooManyRequests, headers: [.retryAfter: "0"])
            }
        }
        let written = try await EqualPartUpload(client: Self.client(s3), partSize: 1 << 20, retryDelay: .milliseconds(5))
            .upload("dumps/b.dump", from: Self.source(Self.body, piece: 65_536))
        #expect(written.parts == 3 && s3.objects.value["dumps/b.dump"]?.body == Self.body)
        #expect(s3.requests.filter { $0.query.contains("partNumber=2&") }.count == 3)
        #expect(s3.requests.filter { $0.query.contains("partNumber=1&") }.count == 1, "the other parts were sent once")
    }

    @Test func aFailingSourceAbortsAndNoObjectAppears() async throws {
        struct Broken: Error {}
        let s3 = try await FakeS3(bucket: "backups", accessKeyID: "key", secret: "secret", smallestPart: 1 << 20)
        s3.objects.withLock { $0["dumps/c.dump"] = (Array("the good one".utf8), "application/octet-stream") }
        await #expect(throws: Broken.self) {
            _ = try await EqualPartUpload(client: Self.client(s3), partSize: 1 << 20).upload("dumps/c.dump") { write in
                try await write(Array(Self.body.prefix(1_500_000)))
                throw Broken()
            }
        }
        #expect(s3.uploads.value.isEmpty && s3.requests.contains { $0.method == "DELETE" && $0.query.contains("uploadId=") })
        #expect(s3.objects.value["dumps/c.dump"]?.body == Array("the good one".utf8), "what was there is untouched")
    }

    @Test func anObjectThatIsNotWhatWasSentIsAFailure() async throws {
        // The store answers the completion but keeps something else (a different last part).
        let s3 = try await FakeS3(bucket: "backups", accessKeyID: "key", secret: "secret", smallestPart: 1 << 20)
        let tampering = try await FakeS3(bucket: "backups", accessKeyID: "key", secret: "secret", smallestPart: 1 << 20) { received in
            if received.method == "HEAD" {
                return Response(status: .ok, headers: [.contentLength: "12", .eTag: "\"0123456789abcdef0123456789abcdef-3\""])
            }
            return nil
        }
        _ = s3
        await #expect {
            _ = try await EqualPartUpload(client: Self.client(tampering), partSize: 1 << 20).upload(
                "dumps/d.dump", from: Self.source(Self.body, piece: 1 << 20))
        } throws: { "\($0)".contains("is not what was sent") }
    }
}
