import Crypto
import Foundation

/// Writes a stream of bytes of unknown length — a `pg_dump` as it runs, an object read from
/// another store — to one object as a multipart upload whose parts all have one size but the
/// last (R2 refuses anything else; S3 accepts it). Memory stays bounded: the part being filled and
/// the one being sent, nothing more, whatever the object's size.
///
/// Each part is retried on its own (transport errors, 429, 5xx; S3's advice on when to come back
/// is followed) up to `attempts` times. On any failure — of a part, of the source, of the
/// completion, or cancellation — the upload is aborted, so no parts are left behind to be billed,
/// and no object appears: a multipart object exists only once complete. The object is then
/// checked: its size and its ETag (the MD5 of the parts' MD5s, `-N`) must be what was sent.
public struct EqualPartUpload: Sendable {
    public let client: S3Client
    public let partSize: Int
    public let attempts: Int
    public let retryDelay: Duration

    /// The smallest part S3 and R2 take (but for the last), and the most parts of one upload.
    public static let smallestPart = 5 << 20
    public static let mostParts = 10_000

    public init(client: S3Client, partSize: Int = 16 << 20, attempts: Int = 5, retryDelay: Duration = .seconds(1)) {
        self.client = client
        self.partSize = partSize
        self.attempts = max(1, attempts)
        self.retryDelay = retryDelay
    }

    /// What was written and verified.
    public struct Written: Sendable, Equatable {
        public var bytes: Int64
        public var parts: Int
        public var etag: String
    }

    /// A source pushes its bytes into the function it is given, piece by piece, and returns at
    /// the end; throwing stops the upload.
    public typealias Source = (_ write: ([UInt8]) async throws -> Void) async throws -> Void

    /// Uploads what `source` writes as `key`. The object exists, whole and verified, when this
    /// returns; it does not exist when this throws (unless it did before: it is then unchanged).
    public func upload(_ key: String, contentType: String = "application/octet-stream", from source: Source) async throws -> Written {
        let upload = try await client.startUpload(key, contentType: contentType)
        var sending: Task<S3Client.Part, any Error>?
        do {
            var parts: [S3Client.Part] = []
            var digests: [UInt8] = []
            var total: Int64 = 0
            var buffer: [UInt8] = []
            buffer.reserveCapacity(partSize)
            // One part is sent while the next is filled; the one before must be done first.
            func ship() async throws {
                let number = parts.count + (sending == nil ? 1 : 2)
                guard number <= Self.mostParts else {
                    throw UploadFailure("\(key) needs more than \(Self.mostParts) parts of \(partSize) bytes: raise the part size")
                }
                if let previous = sending { parts.append(try await previous.value) }
                let body = buffer
                let digest = Insecure.MD5.hash(data: body)
                digests += digest
                total += Int64(body.count)
                sending = Task { try await send(upload, number: number, body: body, etag: "\"\(Hex.encode(digest))\"") }
                buffer.removeAll(keepingCapacity: true)
            }
            try await source { piece in
                var rest = piece[...]
                while !rest.isEmpty {
                    let room = partSize - buffer.count
                    buffer += rest.prefix(room)
                    rest = rest.dropFirst(room)
                    if buffer.count == partSize { try await ship() }
                }
            }
            if !buffer.isEmpty || (parts.isEmpty && sending == nil) { try await ship() }
            if let last = sending {
                parts.append(try await last.value)
                sending = nil
            }
            try Task.checkCancellation()
            try await client.completeUpload(upload, parts: parts)
            let expected = "\"\(Hex.encode(Insecure.MD5.hash(data: digests)))-\(parts.count)\""
            guard let head = try await client.head(key) else { throw UploadFailure("\(key) is missing right after its upload completed") }
            guard head.size == total, head.etag == expected else {
                throw UploadFailure(
                    "\(key) is not what was sent: \(head.size) bytes with ETag \(head.etag), expected \(total) bytes with ETag \(expected)")
            }
            return Written(bytes: total, parts: parts.count, etag: expected)
        } catch {
            sending?.cancel()
            _ = try? await sending?.value
            // Aborted even when this task is cancelled: a detached call, waited for.
            _ = await Task.detached { try? await client.abortUpload(upload) }.value
            throw error
        }
    }

    /// One part, retried on its own while the failure is retryable and attempts remain; `etag` is
    /// the quoted MD5 of `body`, which S3 must answer.
    private func send(_ upload: S3Client.Upload, number: Int, body: [UInt8], etag sent: String) async throws -> S3Client.Part {
        var attempt = 1
        while true {
            do {
                let part = try await client.uploadPart(upload, number: number, body: body)
                guard part.etag == sent else {
                    throw UploadFailure("part \(number) of \(upload.key) came back with ETag \(part.etag), sent \(sent)")
                }
                return part
            } catch let failure as HTTPFailure where failure.isRetryable && attempt < attempts && !Task.isCancelled {
                let backoff = retryDelay * (1 << min(attempt - 1, 6))
                // The store's advice is followed, up to five minutes: a hostile value cannot park the backup.
                try await Task.sleep(for: min(max(backoff, failure.retryAfter ?? .zero), .seconds(300)))
                attempt += 1
            }
        }
    }
}

/// An upload whose result is not what was sent, or that cannot be made as asked: permanent.
public struct UploadFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
