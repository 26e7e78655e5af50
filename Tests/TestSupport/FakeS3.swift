import Crypto
import Foundation
import Hummingbird
import Services

/// A small S3-API object store (path-style, one bucket) that checks every request's SigV4
/// signature the way S3 and R2 do — the canonical request rebuilt from what arrived, the key
/// derived from the secret — and the payload's `x-amz-content-sha256`. A wrong signature answers
/// 403 `SignatureDoesNotMatch` with S3's XML error body, a missing object 404 `NoSuchKey`.
/// `refuse` lets a test answer any request itself first (a 429, a 503). Multipart uploads hold R2's
/// rules: every part but the last of one size, at least 5 MiB, the last no larger; the object
/// appears only when the upload completes.
public final class FakeS3: Sendable {
    public struct Upload: Sendable {
        public var key: String
        public var contentType: String
        public var parts: [Int: [UInt8]] = [:]
    }

    public let objects = LockedValue<[String: (body: [UInt8], contentType: String)]>([:])
    /// Multipart uploads started and neither completed nor aborted, by upload id.
    public let uploads = LockedValue<[String: Upload]>([:])
    /// The smallest part but the last it takes: R2's 5 MiB unless a test asks for less.
    public let smallestPart: Int
    /// When each object was last written; tests may move it back to age an object.
    public let modified = LockedValue<[String: Date]>([:])
    /// Each object's ETag as S3 makes it: the MD5 of its bytes, or for a multipart object the MD5
    /// of its parts' MD5s and `-N`.
    public let etags = LockedValue<[String: String]>([:])
    public let service: FakeService
    public let bucket: String

    public init(
        bucket: String, accessKeyID: String, secret: String, region: String = "auto", smallestPart: Int = 5 << 20,
        refuse: @escaping @Sendable (FakeService.Received) async -> Response? = { _ in nil }
    ) async throws {
        self.bucket = bucket
        self.smallestPart = smallestPart
        let objects = self.objects
        let modified = self.modified
        let uploads = self.uploads
        let etags = self.etags
        service = try await FakeService { received in
            if let answer = await refuse(received) { return answer }
            if let problem = FakeS3.check(received, accessKeyID: accessKeyID, secret: secret, region: region) {
                // S3 shows the canonical request it computed, which is what a signer needs to see.
                return FakeS3.error(
                    .forbidden, problem.code, "The request signature we calculated does not match the signature you provided.",
                    canonical: problem.canonical)
            }
            if received.method == "GET", received.path == "/\(bucket)" || received.path == "/\(bucket)/" {
                return FakeS3.list(received, bucket: bucket, objects: objects.value, modified: modified.value, etags: etags.value)
            }
            let prefix = "/\(bucket)/"
            guard received.path.hasPrefix(prefix) else {
                return FakeS3.error(.notFound, "NoSuchBucket", "The specified bucket does not exist.")
            }
            let key = String(received.path.dropFirst(prefix.count))
            let query = FakeS3.parameters(received.query)
            if query["uploads"] != nil || query["uploadId"] != nil {
                return FakeS3.multipart(
                    received, key: key, query: query, objects: objects, modified: modified, etags: etags, uploads: uploads,
                    smallestPart: smallestPart)
            }
            switch received.method {
            case "PUT":
                objects.withLock { $0[key] = (received.body, received.headers["content-type"] ?? "binary/octet-stream") }
                modified.withLock { $0[key] = Date() }
                etags.withLock { $0[key] = FakeS3.etag(received.body) }
                return FakeService.answer(.ok, headers: [.eTag: FakeS3.etag(received.body)])
            case "GET":
                guard let object = objects.value[key] else {
                    return FakeS3.error(.notFound, "NoSuchKey", "The specified key does not exist.")
                }
                return Response(
                    status: .ok, headers: [.contentType: object.contentType, .eTag: etags.value[key] ?? ""],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: object.body)))
            case "HEAD":
                guard let object = objects.value[key] else { return Response(status: .notFound) }
                return Response(
                    status: .ok,
                    headers: [.contentType: object.contentType, .contentLength: String(object.body.count), .eTag: etags.value[key] ?? ""])
            case "DELETE":
                objects.withLock { $0[key] = nil }
                modified.withLock { $0[key] = nil }
                etags.withLock { $0[key] = nil }
                return FakeService.answer(.noContent)
            default:
                return FakeService.answer(.methodNotAllowed)
            }
        }
    }

    public var url: String { service.url }
    public var requests: [FakeService.Received] { service.requests }

    /// Nil when the request is signed right, else the S3 error code (and the canonical request).
    static func check(_ received: FakeService.Received, accessKeyID: String, secret: String, region: String) -> (
        code: String, canonical: String
    )? {
        guard let authorization = received.headers["authorization"], authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            return ("AccessDenied", "")
        }
        var fields: [String: String] = [:]
        for item in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { fields[pair[0]] = pair[1] }
        }
        let credential = (fields["Credential"] ?? "").split(separator: "/").map(String.init)
        guard credential.count == 5, credential[0] == accessKeyID, credential[2] == region, credential[3] == "s3" else {
            return ("InvalidAccessKeyId", "")
        }
        guard let stamp = received.headers["x-amz-date"], stamp.hasPrefix(credential[1]) else {
            return ("AuthorizationHeaderMalformed", "")
        }
        let payload = received.headers["x-amz-content-sha256"] ?? ""
        guard payload == Hex.encode(SHA256.hash(data: received.body)) else { return ("XAmzContentSHA256Mismatch", "") }
        let names = (fields["SignedHeaders"] ?? "").split(separator: ";").map(String.init)
        guard names.contains("host"), names.contains("x-amz-date") else { return ("AccessDenied", "") }
        // S3 sorts the query's parameters (already encoded) by name.
        let query = received.query.split(separator: "&").map(String.init).sorted().joined(separator: "&")
        var canonical = "\(received.method)\n\(received.path)\n\(query)\n"
        for name in names { canonical += "\(name):\((received.headers[name] ?? "").trimmingCharacters(in: .whitespaces))\n" }
        canonical += "\n" + names.joined(separator: ";") + "\n" + payload
        let scope = credential[1...4].joined(separator: "/")
        let text = ["AWS4-HMAC-SHA256", stamp, scope, Hex.encode(SHA256.hash(data: Array(canonical.utf8)))].joined(separator: "\n")
        let key = ["aws4_request", "s3", region, credential[1]].reversed().reduce(SymmetricKey(data: Array("AWS4\(secret)".utf8))) {
            key, part in
            SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        let signature = Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key))
        return signature == fields["Signature"] ? nil : ("SignatureDoesNotMatch", canonical)
    }

    static func parameters(_ query: String) -> [String: String] {
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            parameters[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return parameters
    }

    public static func etag(_ body: [UInt8]) -> String { "\"\(Hex.encode(Insecure.MD5.hash(data: body)))\"" }

    /// CreateMultipartUpload, UploadPart, CompleteMultipartUpload and AbortMultipartUpload.
    static func multipart(
        _ received: FakeService.Received, key: String, query: [String: String],
        objects: LockedValue<[String: (body: [UInt8], contentType: String)]>,
        modified: LockedValue<[String: Date]>, etags: LockedValue<[String: String]>, uploads: LockedValue<[String: Upload]>,
        smallestPart: Int
    ) -> Response {
        switch (received.method, query["uploadId"]) {
        case ("POST", nil):
            let id = UUID().uuidString
            uploads.withLock { $0[id] = Upload(key: key, contentType: received.headers["content-type"] ?? "binary/octet-stream") }
            return FakeService.answer(
                .ok,
                "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>\(key)</Key><UploadId>\(id)</UploadId></InitiateMultipartUploadResult>",
                headers: [.contentType: "application/xml"])
        case ("PUT", let id?):
            guard let number = query["partNumber"].flatMap(Int.init), (1...10_000).contains(number) else {
                return error(.badRequest, "InvalidArgument", "Part number must be an integer between 1 and 10000")
            }
            let stored = uploads.withLock { uploads -> Bool in
                guard uploads[id]?.key == key else { return false }
                uploads[id]?.parts[number] = received.body
                return true
            }
            return stored
                ? FakeService.answer(.ok, headers: [.eTag: etag(received.body)])
                : error(.notFound, "NoSuchUpload", "The specified upload does not exist.")
        case ("POST", let id?):
            guard let upload = uploads.value[id], upload.key == key else {
                return error(.notFound, "NoSuchUpload", "The specified upload does not exist.")
            }
            let text = received.text
            var listed: [(Int, String)] = []
            for piece in text.components(separatedBy: "<Part>").dropFirst() {
                guard let number = S3Tags.value("PartNumber", piece).flatMap(Int.init), let tag = S3Tags.value("ETag", piece) else {
                    continue
                }
                listed.append((number, tag.replacingOccurrences(of: "&quot;", with: "\"")))
            }
            guard !listed.isEmpty, listed.map(\.0) == listed.map(\.0).sorted() else {
                return error(.badRequest, "InvalidPartOrder", "parts out of order")
            }
            var bodies: [[UInt8]] = []
            for (number, tag) in listed {
                guard let body = upload.parts[number], etag(body) == tag else {
                    return error(.badRequest, "InvalidPart", "part \(number) unknown or its ETag differs")
                }
                bodies.append(body)
            }
            let sizes = bodies.map(\.count)
            if sizes.count > 1 {
                let size = sizes[0]
                guard size >= smallestPart, sizes.dropLast().allSatisfy({ $0 == size }), sizes.last! <= size else {
                    return error(
                        .badRequest, "EntityTooSmall",
                        "All non-trailing parts must have the same length, at least \(smallestPart) bytes: \(sizes)")
                }
            }
            let tag =
                "\"\(Hex.encode(Insecure.MD5.hash(data: Array(bodies.map { Insecure.MD5.hash(data: $0) }.map(Array.init).joined()))))-\(sizes.count)\""
            objects.withLock { $0[key] = (Array(bodies.joined()), upload.contentType) }
            modified.withLock { $0[key] = Date() }
            etags.withLock { $0[key] = tag }
            uploads.withLock { $0[id] = nil }
            return FakeService.answer(
                .ok,
                "<CompleteMultipartUploadResult><Key>\(key)</Key><ETag>\(tag.replacingOccurrences(of: "\"", with: "&quot;"))</ETag></CompleteMultipartUploadResult>",
                headers: [.contentType: "application/xml"])
        case ("DELETE", let id?):
            uploads.withLock { $0[id] = nil }
            return FakeService.answer(.noContent)
        default:
            return FakeService.answer(.methodNotAllowed)
        }
    }

    /// ListObjectsV2, two keys per page so that paging is exercised.
    static func list(
        _ received: FakeService.Received, bucket: String, objects: [String: (body: [UInt8], contentType: String)],
        modified: [String: Date], etags: [String: String]
    ) -> Response {
        let parameters = parameters(received.query)
        guard parameters["list-type"] == "2" else { return FakeS3.error(.badRequest, "InvalidArgument", "list-type=2 expected") }
        let keys = objects.keys.filter { $0.hasPrefix(parameters["prefix"] ?? "") }.sorted()
        let start =
            parameters["continuation-token"].flatMap { token in keys.firstIndex { $0 > token } }
            ?? (parameters["continuation-token"] == nil ? 0 : keys.count)
        let page = Array(keys[start..<min(start + 2, keys.count)])
        let truncated = start + page.count < keys.count
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let contents = page.map { key in
            "<Contents><Key>\(key)</Key><LastModified>\(formatter.string(from: modified[key] ?? Date()))</LastModified><ETag>\((etags[key] ?? "").replacingOccurrences(of: "\"", with: "&quot;"))</ETag><Size>\(objects[key]?.body.count ?? 0)</Size><StorageClass>STANDARD</StorageClass></Contents>"
        }.joined()
        let next = truncated ? "<NextContinuationToken>\(page.last ?? "")</NextContinuationToken>" : ""
        let xml =
            #"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>\#(bucket)</Name><KeyCount>\#(page.count)</KeyCount><IsTruncated>\#(truncated)</IsTruncated>\#(contents)\#(next)</ListBucketResult>"#
        return FakeService.answer(.ok, xml, headers: [.contentType: "application/xml"])
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, canonical: String = "") -> Response {
        let extra = canonical.isEmpty ? "" : "<CanonicalRequest>\(canonical)</CanonicalRequest>"
        return FakeService.answer(
            status, #"<?xml version="1.0" encoding="UTF-8"?><Error><Code>\#(code)</Code><Message>\#(message)</Message>\#(extra)</Error>"#,
            headers: [.contentType: "application/xml"])
    }
}

/// Reading one tag's text out of S3's XML, enough for the fake.
enum S3Tags {
    static func value(_ name: String, _ xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else {
            return nil
        }
        return String(xml[open.upperBound..<close.lowerBound])
    }
}
