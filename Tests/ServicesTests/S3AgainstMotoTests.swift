import Foundation
import Services
import TestSupport
import Testing

/// The S3 client against moto's S3 server, an S3 written by others: what our own fake accepts,
/// a server that reads requests by their declared type must store as sent.
@Suite(.enabled(if: MotoS3Server.available, "moto[server] is not installed (scripts/install-deps.sh installs it)"))
struct S3AgainstMotoTests {
    static func client(_ moto: MotoS3Server) -> S3Client {
        S3Client(
            endpoint: moto.url, bucket: "dumps", signer: SignatureV4(accessKeyID: "key", secretAccessKey: "secret", region: "us-east-1"),
            http: HTTPClient(connections: 2))
    }

    /// Every part reached moto empty (libcurl typed the bodies as a form), so no dump completed.
    @Test func aMultipartUploadIsStoredAsSentAndItsETagChecks() async throws {
        let moto = try await MotoS3Server(bucket: "dumps")
        let body = (0..<(11 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
        let upload = EqualPartUpload(client: Self.client(moto), partSize: 5 << 20, retryDelay: .milliseconds(5))
        let written = try await upload.upload(
            "nightly/a.dump",
            from: { write in
                var offset = 0
                while offset < body.count {
                    try await write(Array(body[offset..<min(offset + 700_001, body.count)]))
                    offset += 700_001
                }
            })
        #expect(written.bytes == Int64(body.count) && written.parts == 3)
        #expect(try await moto.object("dumps", "nightly/a.dump") == body, "moto holds what was sent")
        let head = try #require(try await Self.client(moto).head("nightly/a.dump"))
        #expect(head.size == Int64(body.count) && head.etag == written.etag && written.etag.hasSuffix("-3\""))
    }

    @Test func aPutIsStoredAsSentListedAndRemoved() async throws {
        let moto = try await MotoS3Server(bucket: "dumps")
        let client = Self.client(moto)
        let body = Array("a=1&b=2 looks like a form but is not one".utf8) + [0, 255, 10]
        try await client.put("mirror/x.bin", body: body, contentType: "application/octet-stream")
        #expect(try await client.get("mirror/x.bin") == body)
        #expect(try await client.list(prefix: "mirror/").map(\.key) == ["mirror/x.bin"])
        try await client.delete("mirror/x.bin")
        #expect(try await client.head("mirror/x.bin") == nil)
    }
}
