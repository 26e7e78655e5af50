import Foundation
import HTTPTypes
import Hummingbird
import TestSupport
import Testing

@testable import Services

/// SigV4 against AWS's own published example, and the S3 client against a fake that checks every
/// signature and payload hash as S3 and R2 do.
@Suite struct S3ClientTests {
    /// AWS's documented example (GET /test.txt from examplebucket with a Range header, 2013-05-24).
    @Test func signaturesMatchAWSsPublishedExample() {
        let signer = SignatureV4(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
        let headers = signer.sign(
            method: "GET", path: "/test.txt", headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
            payloadHash: SignatureV4.emptyPayloadHash, date: Date(timeIntervalSince1970: 1_369_353_600))
        let authorization = headers.first { $0.0 == "Authorization" }?.1
        #expect(
            authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
        #expect(headers.contains { $0 == ("x-amz-date", "20130524T000000Z") })
        #expect(PercentEncoding.component("a b/ü~") == "a%20b%2F%C3%BC~")
    }

    /// A listing that cannot be trusted to be whole fails, within a bounded number of requests,
    /// instead of looping for hours or passing for complete (the mirror would take what it missed
    /// for gone and delete it after the grace).
    @Test(arguments: [
        (
            "a repeated token",
            #"<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>same</NextContinuationToken><Contents><Key>a</Key><LastModified>2026-11-26T01:18:00.000Z</LastModified><Size>1</Size></Contents></ListBucketResult>"#,
            "does not advance"
        ),
        (
            "truncated without a token",
            #"<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key><LastModified>2026-11-26T01:18:00.000Z</LastModified><Size>1</Size></Contents></ListBucketResult>"#,
            "names no next page"
        ),
        (
            "truncated with an empty token",
            #"<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken></NextContinuationToken></ListBucketResult>"#,
            "names no next page"
        ),
        ("no listing at all", #"<html>maintenance</html>"#, "not a ListBucketResult"),
    ])
    func aListingThatDoesNotAdvanceOrParseFails(_ name: String, _ page: String, _ said: String) async throws {
        let fake = try await FakeService { _ in FakeService.answer(.ok, page, headers: [.contentType: "application/xml"]) }
        let client = S3Client(
            endpoint: fake.url, bucket: "b", signer: SignatureV4(accessKeyID: "AK", secretAccessKey: "sk", region: "auto"),
            http: HTTPClient())
        await #expect { try await client.list(prefix: "mirror/") } throws: { "\($0)".contains(said) }
        #expect(fake.requests.count <= 2, "\(name): \(fake.requests.count) requests")
    }

    @Test func objectsArePutReadAndDeletedWithSignedRequests() async throws {
        let s3 = try await FakeS3(bucket: "switchboard", accessKeyID: "AK", secret: "sk")
        let client = S3Client(
            endpoint: s3.url, bucket: "switchboard", signer: SignatureV4(accessKeyID: "AK", secretAccessKey: "sk", region: "auto"),
            http: HTTPClient())
        let audio = Array("OggS".utf8) + [UInt8](repeating: 9, count: 70_000)
        try await client.put("voice/2026/11/26/a.ogg", body: audio, contentType: "audio/ogg")
        #expect(s3.objects.value["voice/2026/11/26/a.ogg"]?.body == audio)
        #expect(s3.objects.value["voice/2026/11/26/a.ogg"]?.contentType == "audio/ogg")
        #expect(try await client.get("voice/2026/11/26/a.ogg") == audio)
        try await client.delete("voice/2026/11/26/a.ogg")
        try await client.delete("voice/2026/11/26/a.ogg")
        #expect(s3.objects.value.isEmpty, "deleted; deleting again is no error")
        let put = try #require(s3.requests.first)
        #expect(put.path == "/switchboard/voice/2026/11/26/a.ogg", "path-style addressing")
        #expect(put.headers["authorization"]?.contains("/auto/s3/aws4_request") == true, "R2's region")
        await #expect { try await client.get("voice/none.ogg") } throws: {
            ($0 as? HTTPFailure)?.status == 404 && ($0 as? HTTPFailure)?.isRetryable == false
        }
    }

    /// A large object goes up in parts, every request signed; it appears only on completion, and an
    /// abandoned upload leaves nothing. R2's rule on part sizes is enforced by the fake.
    /// Any object name is allowed in S3, `..` segments included: a key is written as itself, never
    /// squashed into another (an attachment named `a/../../dumps/db/x.dump` mirrored under a prefix
    /// must not land on a dump).
    @Test func aKeyWithDotSegmentsIsThatKeyAndNoOther() async throws {
        let s3 = try await FakeS3(bucket: "switchboard", accessKeyID: "AK", secret: "sk")
        let client = S3Client(
            endpoint: s3.url, bucket: "switchboard", signer: SignatureV4(accessKeyID: "AK", secretAccessKey: "sk", region: "auto"),
            http: HTTPClient())
        let key = "mirror/a/../../dumps/./x.dump"
        try await client.put(key, body: Array("attachment".utf8), contentType: "text/plain")
        #expect(Array(s3.objects.value.keys) == [key], "\(s3.objects.value.keys)")
        #expect(try await client.get(key) == Array("attachment".utf8))
        #expect(try await client.head(key)?.size == 10)
    }

    @Test func largeObjectsGoUpInPartsAndAppearWholeOnlyWhenComplete() async throws {
        // R2's rules at a smaller scale (its 5 MiB parts are slow to push through a debug build).
        let s3 = try await FakeS3(bucket: "switchboard", accessKeyID: "AK", secret: "sk", smallestPart: 64 << 10)
        let client = S3Client(
            endpoint: s3.url, bucket: "switchboard", signer: SignatureV4(accessKeyID: "AK", secretAccessKey: "sk", region: "auto"),
            http: HTTPClient())
        let size = s3.smallestPart
        let pieces: [[UInt8]] = [
            [UInt8](repeating: 1, count: size), [UInt8](repeating: 2, count: size), [UInt8](repeating: 3, count: 1000),
        ]
        let upload = try await client.startUpload("calls/812-recording.mp3", contentType: "audio/mpeg")
        var parts: [S3Client.Part] = []
        for (index, piece) in pieces.enumerated() { parts.append(try await client.uploadPart(upload, number: index + 1, body: piece)) }
        #expect(s3.objects.value.isEmpty, "nothing visible before completion")
        try await client.completeUpload(upload, parts: parts)
        // Compared outside #expect: it would describe ten MiB of bytes.
        let whole = s3.objects.value["calls/812-recording.mp3"]?.body == Array(pieces.joined())
        #expect(whole)
        #expect(s3.objects.value["calls/812-recording.mp3"]?.contentType == "audio/mpeg")
        #expect(s3.uploads.value.isEmpty)
        // Parts of unequal size (R2 refuses them) fail the completion; an abort removes the upload.
        let uneven = try await client.startUpload("calls/813-recording.mp3", contentType: "audio/mpeg")
        let small = try await client.uploadPart(uneven, number: 1, body: [UInt8](repeating: 1, count: 1000))
        let large = try await client.uploadPart(uneven, number: 2, body: [UInt8](repeating: 2, count: 2000))
        await #expect(throws: HTTPFailure.self) { try await client.completeUpload(uneven, parts: [small, large]) }
        try await client.abortUpload(uneven)
        try await client.abortUpload(uneven)
        #expect(s3.uploads.value.isEmpty && s3.objects.value["calls/813-recording.mp3"] == nil)
        #expect(s3.requests.allSatisfy { $0.headers["authorization"]?.hasPrefix("AWS4-HMAC-SHA256") == true })
    }

    @Test func aWrongSecretIsPermanentAndThrottlingIsRetriedAfterItsDelay() async throws {
        let s3 = try await FakeS3(bucket: "b", accessKeyID: "AK", secret: "right") { received in
            received.path.hasSuffix("/busy.ogg")
                ? FakeS3Answers.slowDown : nil
        }
        let wrong = S3Client(
            endpoint: s3.url, bucket: "b", signer: SignatureV4(accessKeyID: "AK", secretAccessKey: "wrong", region: "auto"),
            http: HTTPClient())
        await #expect { try await wrong.put("x.ogg", body: [1, 2, 3], contentType: "audio/ogg") } throws: { error in
            let failure = error as? HTTPFailure
            return failure?.status == 403 && failure?.isRetryable == false && "\(error)".contains("SignatureDoesNotMatch")
        }
        #expect(s3.objects.value.isEmpty)
        let right = S3Client(
            endpoint: s3.url, bucket: "b", signer: SignatureV4(accessKeyID: "AK", secretAccessKey: "right", region: "auto"),
            http: HTTPClient())
        await #expect { try await right.put("busy.ogg", body: [1], contentType: "audio/ogg") } throws: { error in
            let failure = error as? HTTPFailure
            return failure?.isRetryable == true && failure?.retryAfter == .seconds(2)
        }
    }
}

/// Answers R2 gives that a test may want before the signature is even looked at.
enum FakeS3Answers {
    /// R2 refuses a second write of one key within a second.
    static var slowDown: Response {
        FakeService.answer(.tooManyRequests, "<Error><Code>SlowDown</Code></Error>", headers: [.retryAfter: "2"])
    }
}
