import Foundation
import Services

extension BlobStore {
    /// What a sweep removed.
    public struct Swept: Sendable, Equatable {
        public var blobs: Int
        public var bytes: Int
    }

    /// Removes every blob written before `cutoff` — audio whose flows finished long ago — and
    /// temporary files that a crashed upload left behind. Flows read their audio within minutes
    /// of it being written, so a cutoff of days never takes audio a job still needs.
    public func sweep(olderThan cutoff: Date) async throws -> Swept {
        var swept = Swept(blobs: 0, bytes: 0)
        switch backend {
        case .folder(let root):
            let keys: [URLResourceKey] = [.contentModificationDateKey, .fileSizeKey, .isRegularFileKey]
            let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys)?.allObjects as? [URL] ?? []
            for file in files {
                let values = try? file.resourceValues(forKeys: Set(keys))
                guard values?.isRegularFile == true, let modified = values?.contentModificationDate, modified < cutoff else { continue }
                try FileManager.default.removeItem(at: file)
                swept.blobs += 1
                swept.bytes += values?.fileSize ?? 0
            }
        case .bucket(let client, let prefix):
            for object in try await client.list(prefix: prefix.isEmpty ? "" : prefix + "/") where object.lastModified < cutoff {
                try await client.delete(object.key)
                swept.blobs += 1
                swept.bytes += object.size
            }
        }
        return swept
    }
}
