import Foundation
import Services

/// Where large payloads (audio) live while jobs carry only a reference to them: Redis never holds
/// audio. A blob becomes visible whole or not at all — a local blob is written under a temporary
/// name and renamed, an S3 blob is one PUT or one multipart upload completed — so a reference
/// handed to a job always names a whole blob, and a failed or refused upload leaves nothing behind.
///
/// `BLOB_STORE` selects it: `file:///path` (or a plain path) is a local folder, shared by the
/// producer and the consumers through a volume; `s3://bucket/prefix` is a bucket of any S3-API
/// store (Cloudflare R2, SeaweedFS, MinIO) at `BLOB_S3_ENDPOINT`, which lifts the need to place
/// every audio-handling service on the node with the folder.
public struct BlobStore: Sendable {
    enum Backend: Sendable {
        case folder(URL)
        case bucket(S3Client, prefix: String)
    }

    let backend: Backend
    /// A bucket's blob larger than this goes up in parts of this size (R2 wants 5 MiB at least).
    let partSize: Int

    /// Opens the store named by `location`; fails with a message naming the setting when the folder
    /// cannot be created and written, or a bucket is named without its endpoint and keys.
    public init(
        location: String, s3: S3Settings? = nil, http: @autoclosure () -> HTTPClient = HTTPClient(connections: 4),
        partSize: Int = 8 << 20
    ) throws {
        self.partSize = max(partSize, 1)
        if location.hasPrefix("s3://") {
            let rest = location.dropFirst("s3://".count)
            let bucket = String(rest.prefix { $0 != "/" })
            let prefix = rest.dropFirst(bucket.count).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            guard !bucket.isEmpty else { throw ConfigurationError("BLOB_STORE \(location) names no bucket") }
            guard let s3 else {
                throw ConfigurationError(
                    "BLOB_STORE \(location) needs BLOB_S3_ENDPOINT, BLOB_S3_ACCESS_KEY_ID and BLOB_S3_SECRET_ACCESS_KEY")
            }
            let signer = SignatureV4(
                accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey, region: s3.region, sessionToken: s3.sessionToken)
            backend = .bucket(S3Client(endpoint: s3.endpoint, bucket: bucket, signer: signer, http: http()), prefix: prefix)
            return
        }
        if location.contains("://") && !location.hasPrefix("file://") {
            throw ConfigurationError("BLOB_STORE \(location): only file:// folders and s3:// buckets are supported")
        }
        let path = location.hasPrefix("file://") ? String(location.dropFirst("file://".count)) : location
        guard !path.isEmpty else { throw ConfigurationError("BLOB_STORE is empty") }
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let root = URL(fileURLWithPath: absolute, isDirectory: true).standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw ConfigurationError("BLOB_STORE \(root.path) cannot be created: \(error.localizedDescription)")
        }
        guard FileManager.default.isWritableFile(atPath: root.path) else {
            throw ConfigurationError("BLOB_STORE \(root.path) is not writable by this user")
        }
        backend = .folder(root)
    }

    /// Starts a new blob under `folder` (e.g. `voice`) with a fresh unique name and `fileExtension`,
    /// the name starting with `owner` (`<account>-<conversation>`) when given, so a person's blobs
    /// can be found by their conversation (`switchboard privacy find`).
    public func create(folder: String, fileExtension: String, owner: String? = nil) throws -> BlobWriter {
        // Foldered by day (2026/11/26), so old blobs are easy to find.
        let day = UTCTime.day(Date(), separator: "/")
        let name =
            (owner.map { $0 + "-" } ?? "") + UUID().uuidString.lowercased() + (fileExtension.isEmpty ? "" : "." + fileExtension)
        return try writer(folder + "/" + day, name)
    }

    /// Starts the blob `folder/name`, one name per source (a call's recording, an answer's audio): a
    /// stage that runs again writes the same blob again instead of leaving an orphan beside it.
    public func create(folder: String, name: String) throws -> BlobWriter {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else { throw BlobStoreError("not a blob name: \(name)") }
        return try writer(folder, name)
    }

    /// Reads a whole blob by its reference.
    public func read(_ reference: String) async throws -> [UInt8] {
        switch backend {
        case .folder(let root):
            return Array(try Data(contentsOf: try Self.file(for: reference, in: root)))
        case .bucket(let client, let prefix):
            return try await client.get(try Self.key(for: reference, client: client, prefix: prefix))
        }
    }

    /// Removes a blob; a missing one is not an error.
    public func delete(_ reference: String) async throws {
        switch backend {
        case .folder(let root):
            let url = try Self.file(for: reference, in: root)
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        case .bucket(let client, let prefix):
            try await client.delete(try Self.key(for: reference, client: client, prefix: prefix))
        }
    }

    private func writer(_ folder: String, _ name: String) throws -> BlobWriter {
        switch backend {
        case .folder(let root):
            let directory = root.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try BlobWriter(file: directory.appendingPathComponent(name))
        case .bucket(let client, let prefix):
            let key = (prefix.isEmpty ? "" : prefix + "/") + folder + "/" + name
            return BlobWriter(object: key, in: client, partSize: partSize)
        }
    }

    /// The file a reference names, refused unless it lies inside the store's folder.
    static func file(for reference: String, in root: URL) throws -> URL {
        guard reference.hasPrefix("file://") else { throw BlobStoreError("not a file:// blob reference: \(reference)") }
        let url = URL(fileURLWithPath: String(reference.dropFirst("file://".count))).standardizedFileURL
        guard url.path.hasPrefix(root.path + "/") else { throw BlobStoreError("blob reference outside the store: \(reference)") }
        return url
    }

    /// The object key a reference names, refused unless it is in the store's bucket and prefix.
    static func key(for reference: String, client: S3Client, prefix: String) throws -> String {
        let head = "s3://\(client.bucket)/" + (prefix.isEmpty ? "" : prefix + "/")
        guard reference.hasPrefix(head), !reference.contains("/../") else {
            throw BlobStoreError("blob reference outside the store: \(reference)")
        }
        return String(reference.dropFirst("s3://\(client.bucket)/".count))
    }
}

/// A blob store problem, saying what and where.
public struct BlobStoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
