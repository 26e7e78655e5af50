import Foundation
import Services
#if canImport(Glibc)
import Glibc
#endif

/// One blob being written. Bytes are appended (to a temporary file beside the final one, or in
/// memory for a bucket); `commit()` makes the blob visible under its reference in one step,
/// `abort()` drops an unfinished one, `discard()` removes a committed one again. Not shared
/// between tasks: one upload owns one writer.
public final class BlobWriter {
    public let reference: String
    public private(set) var byteCount = 0
    private let target: Target
    /// The temporary file being written (a folder's blob), until it is closed.
    private var handle: FileHandle?
    /// The bytes so far (a bucket's blob), sent whole by `commit()`.
    private var buffer: [UInt8] = []

    enum Target {
        case file(final: URL, temporary: URL)
        case object(key: String, client: S3Client)
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

    init(object key: String, in client: S3Client) {
        target = .object(key: key, client: client)
        reference = "s3://\(client.bucket)/\(key)"
    }

    deinit {
        abort()
    }

    public func append(_ bytes: some Sequence<UInt8>) throws {
        switch target {
        case .file:
            let data = Data(bytes)
            try handle?.write(contentsOf: data)
            byteCount += data.count
        case .object:
            let before = buffer.count
            buffer.append(contentsOf: bytes)
            byteCount += buffer.count - before
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
        case .object(let key, let client):
            let type = AudioTypes.contentType(forExtension: String(key.split(separator: ".").last ?? "")) ?? "application/octet-stream"
            try await client.put(key, body: buffer, contentType: type)
            buffer = []
        }
    }

    /// Drops an unfinished blob.
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
        case .object(let key, let client):
            try? await client.delete(key)
        }
    }
}
