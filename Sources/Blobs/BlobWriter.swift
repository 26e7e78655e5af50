import Foundation
import Services

#if canImport(Glibc)
    import Glibc
#endif

/// One blob being written. Bytes are appended as they come — to a temporary file beside the final
/// one (a folder), or, for a bucket, in parts of `partSize` uploaded as each fills (a multipart
/// upload), so a writer holds at most one part in memory whatever the blob's size. `commit()` makes
/// the blob visible under its reference in one step (the rename; the upload's completion, or one
/// PUT for a blob smaller than a part); `cancel()` drops an unfinished one (the temporary file; the
/// upload and its parts); `discard()` removes a committed one again. Not shared between tasks: one
/// upload owns one writer.
public final class BlobWriter {
    public let reference: String
    public private(set) var byteCount = 0
    private let target: Target
    /// The temporary file being written (a folder's blob), until it is closed.
    private var handle: FileHandle?
    /// The bytes not yet uploaded (a bucket's blob): less than one part.
    private var buffer: [UInt8] = []
    /// A bucket's multipart upload, once the blob has outgrown one part, and its parts so far.
    private var upload: S3Client.Upload?
    private var parts: [S3Client.Part] = []

    enum Target {
        case file(final: URL, temporary: URL)
        case object(key: String, client: S3Client, partSize: Int)
    }

    init(file final: URL) throws {
        let temporary = final.deletingLastPathComponent()
            .appendingPathComponent("." + final.lastPathComponent + "." + UUID().uuidString.prefix(8).lowercased() + ".part")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw BlobStoreError("cannot create \(temporary.path)")
        }
        target = .file(final: final, temporary: temporary)
        handle = try FileHandle(forWritingTo: temporary)
        reference = "file://" + final.path
    }

    init(object key: String, in client: S3Client, partSize: Int) {
        target = .object(key: key, client: client, partSize: partSize)
        reference = "s3://\(client.bucket)/\(key)"
    }

    deinit {
        abort()
    }

    public func append(_ bytes: some Sequence<UInt8>) async throws {
        switch target {
        case .file:
            let data = Data(bytes)
            try handle?.write(contentsOf: data)
            byteCount += data.count
        case .object(let key, let client, let partSize):
            let before = buffer.count
            buffer.append(contentsOf: bytes)
            byteCount += buffer.count - before
            // R2 wants every part but the last of one size: cut exactly `partSize` each time.
            while buffer.count >= partSize {
                if upload == nil { upload = try await client.startUpload(key, contentType: contentType) }
                let part = Array(buffer.prefix(partSize))
                parts.append(try await client.uploadPart(upload!, number: parts.count + 1, body: part))
                buffer.removeFirst(partSize)
            }
        }
    }

    /// Makes the blob visible under its reference, replacing a blob of the same name in one step.
    public func commit() async throws {
        switch target {
        case .file(let final, let temporary):
            try handle?.close()
            handle = nil
            guard rename(temporary.path, final.path) == 0 else {
                throw BlobStoreError("cannot move \(temporary.path) to \(final.path): \(String(cString: strerror(errno)))")
            }
        case .object(let key, let client, _):
            if let upload {
                if !buffer.isEmpty { parts.append(try await client.uploadPart(upload, number: parts.count + 1, body: buffer)) }
                try await client.completeUpload(upload, parts: parts)
                self.upload = nil
            } else {
                try await client.put(key, body: buffer, contentType: contentType)
            }
            buffer = []
        }
    }

    /// Drops an unfinished blob, its upload too.
    public func cancel() async {
        if case .object(_, let client, _) = target, let upload {
            try? await client.abortUpload(upload)
            self.upload = nil
        }
        abort()
    }

    /// Drops what an unfinished blob holds here (a multipart upload left behind by a writer that
    /// was never cancelled is removed by the bucket's lifecycle: R2 aborts them after 7 days).
    public func abort() {
        try? handle?.close()
        handle = nil
        buffer = []
        if case .file(_, let temporary) = target { try? FileManager.default.removeItem(at: temporary) }
    }

    /// Removes a committed blob again (its job was not enqueued).
    public func discard() async {
        abort()
        switch target {
        case .file(let final, _):
            try? FileManager.default.removeItem(at: final)
        case .object(let key, let client, _):
            try? await client.delete(key)
        }
    }

    private var contentType: String {
        guard case .object(let key, _, _) = target else { return "application/octet-stream" }
        return AudioTypes.contentType(forExtension: String(key.split(separator: ".").last ?? "")) ?? "application/octet-stream"
    }
}
