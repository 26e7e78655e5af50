import Crypto
import Foundation

/// The S3 API for objects in one bucket, path-style (`<endpoint>/<bucket>/<key>`), signed with
/// SigV4: Cloudflare R2 (region `auto`), SeaweedFS, MinIO or AWS. Put, get and delete whole
/// objects, and write large ones in parts (multipart upload: the object appears whole when the
/// upload completes, never in part), so a large object is never held in memory whole.
///
/// Failures follow the shared error model: 429 (R2 refuses a second write of a key within a second)
/// and 5xx are retryable, a bad signature (403 `SignatureDoesNotMatch`) or a missing bucket permanent.
public struct S3Client: Sendable {
    public let endpoint: String
    public let bucket: String
    private let signer: SignatureV4
    private let http: HTTPClient
    private let timeout: Duration

    public init(endpoint: String, bucket: String, signer: SignatureV4, http: HTTPClient, timeout: Duration = .seconds(120)) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.bucket = bucket
        self.signer = signer
        self.http = http
        self.timeout = timeout
    }

    /// Stores `body` under `key`, replacing what was there.
    public func put(_ key: String, body: [UInt8], contentType: String) async throws {
        _ = try await http.sendChecked(request("PUT", key, headers: [("Content-Type", contentType)], body: body))
    }

    /// The object's bytes; a missing object is a permanent failure (404 `NoSuchKey`).
    public func get(_ key: String, maxBytes: Int = 256 << 20) async throws -> [UInt8] {
        var request = request("GET", key, headers: [], body: [])
        request.maxResponseBytes = maxBytes
        return try await http.sendChecked(request).body
    }

    /// The object's bytes handed to `receive` piece by piece as they arrive, with at most `buffer`
    /// bytes held in between: an object of any size costs bounded memory. A missing object is a
    /// permanent failure (404 `NoSuchKey`).
    public func download(_ key: String, buffer: Int = 4 << 20, into receive: ([UInt8]) async throws -> Void) async throws {
        var request = request("GET", key, headers: [], body: [])
        request.maxResponseBytes = 64 << 10
        _ = try await http.download(request, buffer: buffer, into: receive)
    }

    /// What HEAD tells of an object: its size and ETag (quotes kept, as S3 sends it).
    public struct Head: Sendable, Equatable {
        public var size: Int64
        public var etag: String
    }

    /// The object's size and ETag, or nil when there is no such object.
    public func head(_ key: String) async throws -> Head? {
        let request = request("HEAD", key, headers: [], body: [])
        let response = try await http.send(request)
        if response.status == 404 { return nil }
        guard (200..<300).contains(response.status) else { throw HTTPFailure.from(response, request: Transfer.describe(request)) }
        guard let size = response.header("Content-Length").flatMap({ Int64($0.trimmingCharacters(in: .whitespaces)) }), size >= 0,
            let etag = response.header("ETag")
        else {
            throw HTTPFailure(kind: .unexpectedAnswer, request: Transfer.describe(request), detail: "no Content-Length or ETag")
        }
        return Head(size: size, etag: etag)
    }

    /// Removes the object; one that is not there is not an error (S3 answers 204 either way).
    public func delete(_ key: String) async throws {
        let request = request("DELETE", key, headers: [], body: [])
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) || response.status == 404 else {
            throw HTTPFailure.from(response, request: Transfer.describe(request))
        }
    }

    // MARK: Multipart upload

    /// A multipart upload in progress: its key and the id S3 gave it.
    public struct Upload: Sendable, Equatable {
        public var key: String
        public var id: String
    }

    /// A part as uploaded: its number (from 1) and the ETag S3 answered.
    public struct Part: Sendable, Equatable {
        public var number: Int
        public var etag: String
    }

    /// Starts a multipart upload of `key` (CreateMultipartUpload).
    public func startUpload(_ key: String, contentType: String) async throws -> Upload {
        let request = request("POST", key, query: [("uploads", "")], headers: [("Content-Type", contentType)], body: [])
        let answer = try await http.sendChecked(request).text
        guard let id = Self.element("UploadId", in: answer), !id.isEmpty else {
            throw HTTPFailure(kind: .unexpectedAnswer, request: Transfer.describe(request), detail: "no UploadId in \(answer.prefix(200))")
        }
        return Upload(key: key, id: id)
    }

    /// Uploads part `number` (from 1). R2 wants every part but the last of one size, 5 MiB at least.
    public func uploadPart(_ upload: Upload, number: Int, body: [UInt8]) async throws -> Part {
        let request = request(
            "PUT", upload.key, query: [("partNumber", String(number)), ("uploadId", upload.id)],
            headers: [("Content-Type", "application/octet-stream")], body: body)
        let response = try await http.sendChecked(request)
        guard let etag = response.header("ETag") else {
            throw HTTPFailure(kind: .unexpectedAnswer, request: Transfer.describe(request), detail: "no ETag for part \(number)")
        }
        return Part(number: number, etag: etag)
    }

    /// Completes the upload: the object appears, made of `parts` in order. S3 may answer 200 with an
    /// error in the body; that is a failure too.
    public func completeUpload(_ upload: Upload, parts: [Part]) async throws {
        let list = parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(Self.escaped($0.etag))</ETag></Part>" }.joined()
        let body = Array(
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(list)</CompleteMultipartUpload>".utf8)
        let request = request(
            "POST", upload.key, query: [("uploadId", upload.id)], headers: [("Content-Type", "application/xml")], body: body)
        let answer = try await http.sendChecked(request).text
        if answer.contains("<Error>") {
            let code = Self.element("Code", in: answer) ?? "InternalError"
            throw HTTPFailure(
                kind: code == "InternalError" || code == "SlowDown" ? .status(503) : .unexpectedAnswer,
                request: Transfer.describe(request), detail: "\(code): \(Self.element("Message", in: answer) ?? "")")
        }
    }

    /// Abandons the upload and its parts (AbortMultipartUpload); one already gone is not an error.
    public func abortUpload(_ upload: Upload) async throws {
        let request = request("DELETE", upload.key, query: [("uploadId", upload.id)], headers: [], body: [])
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) || response.status == 404 else {
            throw HTTPFailure.from(response, request: Transfer.describe(request))
        }
    }

    /// The text of the first `<name>` element of an XML answer.
    static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else {
            return nil
        }
        return String(xml[open.upperBound..<close.lowerBound])
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// An object as a listing shows it.
    public struct Object: Sendable, Equatable {
        public var key: String
        public var lastModified: Date
        public var size: Int
        /// Quotes kept, as S3 sends it; empty when the listing gave none.
        public var etag: String

        public init(key: String, lastModified: Date, size: Int, etag: String = "") {
            self.key = key
            self.lastModified = lastModified
            self.size = size
            self.etag = etag
        }
    }

    /// Every object under `prefix` (ListObjectsV2, a thousand per page, following continuation tokens).
    /// A listing that cannot be trusted to be whole — a page that does not parse, one marked
    /// truncated without a next token, a token seen before (a server going round in circles) —
    /// throws: what a caller would infer from a partial listing (objects gone) would be wrong.
    public func list(prefix: String) async throws -> [Object] {
        var objects: [Object] = []
        try await forEachPage(prefix: prefix) { objects += $0 }
        return objects
    }

    /// The same listing as `list`, handed to `body` a page (up to a thousand objects) at a time.
    public func forEachPage(prefix: String, _ body: ([Object]) async throws -> Void) async throws {
        var token: String?
        var seen: Set<String> = []
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let request = request("GET", nil, query: query, headers: [], body: [])
            let page = ListPage(try await http.sendChecked(request).text)
            guard let found = page.objects else {
                throw HTTPFailure(kind: .unexpectedAnswer, request: Transfer.describe(request), detail: "not a ListBucketResult")
            }
            guard !page.truncatedWithoutToken else {
                throw HTTPFailure(
                    kind: .unexpectedAnswer, request: Transfer.describe(request), detail: "a page marked truncated names no next page")
            }
            try await body(found)
            token = page.nextToken
            if let token, !seen.insert(token).inserted {
                throw HTTPFailure(
                    kind: .unexpectedAnswer, request: Transfer.describe(request),
                    detail: "the listing does not advance: continuation token \(token.prefix(60)) came back again")
            }
        } while token != nil
    }

    /// A request signed over `body`'s SHA-256 (S3 checks it against what arrives).
    private func request(_ method: String, _ key: String?, query: [(String, String)] = [], headers: [(String, String)], body: [UInt8])
        -> HTTPClient.Request
    {
        let payloadHash = body.isEmpty ? SignatureV4.emptyPayloadHash : Hex.encode(SHA256.hash(data: body))
        var path = "/" + PercentEncoding.component(bucket)
        if let key {
            path +=
                "/"
                + key.split(separator: "/", omittingEmptySubsequences: false).map { PercentEncoding.component(String($0)) }.joined(
                    separator: "/")
        }
        let own = [("Host", Self.host(of: endpoint))] + headers
        let signed = signer.sign(method: method, path: path, query: query, headers: own, payloadHash: payloadHash)
        let queryText = query.map { "\(PercentEncoding.component($0.0))=\(PercentEncoding.component($0.1))" }.joined(separator: "&")
        return HTTPClient.Request(
            method, endpoint + path + (queryText.isEmpty ? "" : "?" + queryText), headers: own + signed, body: body, timeout: timeout)
    }

    /// `host[:port]` of a URL, as the Host header carries it.
    static func host(of url: String) -> String {
        let afterScheme = url.range(of: "://").map { url[$0.upperBound...] } ?? url[...]
        return String(afterScheme.prefix { $0 != "/" })
    }
}
