import Foundation
import Services

extension BlobStore {
    /// A blob as a listing shows it: its reference (what jobs carry), its path inside the store
    /// (`voice/2026/11/26/….ogg`, `calls/9001-recording.mp3`), size and when it was written.
    public struct Listed: Sendable, Equatable {
        public var reference: String
        public var path: String
        public var size: Int
        public var modified: Date
    }

    /// Hands every blob of the store to `body`, in pages, never the whole store in one list:
    /// a folder is walked file by file, a bucket read a listing page (1,000 keys) at a time.
    /// Temporary files of uploads in progress are left out.
    public func forEachBlob(_ body: ([Listed]) async throws -> Void) async throws {
        switch backend {
        case .folder(let root):
            let keys: [URLResourceKey] = [.contentModificationDateKey, .fileSizeKey, .isRegularFileKey]
            guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys) else { return }
            var page: [Listed] = []
            while let file = walker.nextObject() as? URL {
                let values = try? file.resourceValues(forKeys: Set(keys))
                guard values?.isRegularFile == true, !file.lastPathComponent.hasPrefix(".") else { continue }
                let path = String(file.standardizedFileURL.path.dropFirst(root.path.count + 1))
                page.append(
                    Listed(
                        reference: "file://" + file.standardizedFileURL.path, path: path, size: values?.fileSize ?? 0,
                        modified: values?.contentModificationDate ?? Date()))
                if page.count == 1000 {
                    try await body(page)
                    page.removeAll(keepingCapacity: true)
                }
            }
            if !page.isEmpty { try await body(page) }
        case .bucket(let client, let prefix):
            let head = prefix.isEmpty ? "" : prefix + "/"
            try await client.forEachPage(prefix: head) { objects in
                try await body(
                    objects.map {
                        Listed(
                            reference: "s3://\(client.bucket)/\($0.key)", path: String($0.key.dropFirst(head.count)), size: $0.size,
                            modified: $0.lastModified)
                    })
            }
        }
    }
}
