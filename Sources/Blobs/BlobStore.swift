import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where large payloads (audio) live while jobs carry only a reference to them: Redis never holds
/// audio. A blob is written completely under a temporary name and then renamed, so a reference
/// handed to a job always names a whole file; a failed or refused upload leaves nothing behind.
///
/// `BLOB_STORE` selects it: `file:///path` (or a plain absolute path) is a local folder, shared by
/// the producer and the consumers through a volume.
public struct BlobStore: Sendable {
    public let root: URL

    /// Opens the store named by `location`; fails with a message naming `BLOB_STORE` when the
    /// location is not a folder we can create and write.
    public init(location: String) throws {
        let path: String
        if location.hasPrefix("file://") {
            path = String(location.dropFirst("file://".count))
        } else if location.contains("://") {
            throw BlobStoreError("BLOB_STORE \(location): only file:// folders are supported by this build")
        } else {
            path = location
        }
        guard !path.isEmpty else { throw BlobStoreError("BLOB_STORE is empty") }
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        root = URL(fileURLWithPath: absolute, isDirectory: true).standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw BlobStoreError("BLOB_STORE \(root.path) cannot be created: \(error.localizedDescription)")
        }
        guard FileManager.default.isWritableFile(atPath: root.path) else {
            throw BlobStoreError("BLOB_STORE \(root.path) is not writable by this user")
        }
    }

    /// Starts a new blob under `folder` (e.g. `voice`) with a fresh unique name and `fileExtension`.
    public func create(folder: String, fileExtension: String) throws -> BlobWriter {
        let day = Self.dayFormatter.string(from: Date())
        let directory = root.appendingPathComponent(folder).appendingPathComponent(day)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = UUID().uuidString.lowercased() + (fileExtension.isEmpty ? "" : "." + fileExtension)
        return try BlobWriter(final: directory.appendingPathComponent(name))
    }

    /// Starts the blob `folder/name`, one name per source (a call's recording, an answer's audio): a
    /// stage that runs again writes the same blob again instead of leaving an orphan beside it.
    public func create(folder: String, name: String) throws -> BlobWriter {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else { throw BlobStoreError("not a blob name: \(name)") }
        let directory = root.appendingPathComponent(folder)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try BlobWriter(final: directory.appendingPathComponent(name))
    }

    /// Reads a whole blob by its reference.
    public func read(_ reference: String) throws -> Data {
        try Data(contentsOf: try file(for: reference))
    }

    /// Removes a blob; a missing one is not an error.
    public func delete(_ reference: String) throws {
        let url = try file(for: reference)
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
    }

    /// The file a reference names, refused unless it lies inside this store.
    public func file(for reference: String) throws -> URL {
        guard reference.hasPrefix("file://") else { throw BlobStoreError("not a file:// blob reference: \(reference)") }
        let url = URL(fileURLWithPath: String(reference.dropFirst("file://".count))).standardizedFileURL
        guard url.path.hasPrefix(root.path + "/") else { throw BlobStoreError("blob reference outside the store: \(reference)") }
        return url
    }

    private static let dayFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy/MM/dd"
        return formatter
    }()
}

/// One blob being written: bytes are appended to a temporary file, which `commit()` renames to the
/// final name and `abort()` removes. Not shared between tasks: one upload owns one writer.
public final class BlobWriter {
    public let reference: String
    public private(set) var byteCount = 0
    private let final: URL
    private let temporary: URL
    private var handle: FileHandle?

    init(final: URL) throws {
        self.final = final
        temporary = final.deletingLastPathComponent().appendingPathComponent("." + final.lastPathComponent + "." + UUID().uuidString.prefix(8).lowercased() + ".part")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw BlobStoreError("cannot create \(temporary.path)")
        }
        handle = try FileHandle(forWritingTo: temporary)
        reference = "file://" + final.path
    }

    deinit {
        abort()
    }

    public func append(_ bytes: some Sequence<UInt8>) throws {
        let data = Data(bytes)
        try handle?.write(contentsOf: data)
        byteCount += data.count
    }

    /// Makes the blob visible under its reference, replacing a blob of the same name in one step.
    public func commit() throws {
        try handle?.close()
        handle = nil
        guard rename(temporary.path, final.path) == 0 else {
            throw BlobStoreError("cannot move \(temporary.path) to \(final.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Drops an unfinished blob (its temporary file).
    public func abort() {
        try? handle?.close()
        handle = nil
        try? FileManager.default.removeItem(at: temporary)
    }

    /// Removes a committed blob again (its job was not enqueued).
    public func discard() {
        abort()
        try? FileManager.default.removeItem(at: final)
    }
}

/// A blob store problem, saying what and where.
public struct BlobStoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
