import Blobs
import Foundation

/// A person's audio in the blob store: their calls' recordings (`calls/<call>-…`), their voice
/// messages (`voice/<day>/<account>-<conversation>-…`) and the spoken answers sent to them
/// (`answers/<account>-<conversation>-…`), and any blob one of their jobs names. The store is
/// listed a page at a time; only the person's are kept in memory.
struct HeldBlobs {
    let blobs: BlobStore

    func mine(_ blob: BlobStore.Listed, _ subject: DataSubject) -> Bool {
        if subject.blobs.contains(blob.reference) { return true }
        let name = blob.path.split(separator: "/").last.map(String.init) ?? blob.path
        if blob.path.hasPrefix("calls/") {
            return name.split(separator: "-").first.flatMap { Int($0) }.map(subject.calls.contains) ?? false
        }
        if blob.path.hasPrefix("voice/") || blob.path.hasPrefix("answers/") {
            let parts = name.split(separator: "-")
            guard parts.count >= 3, Int(parts[0]) == subject.account, let conversation = Int(parts[1]) else { return false }
            return subject.conversations.contains(conversation)
        }
        return false
    }

    func sweep(_ subject: DataSubject, forget: Bool) async throws -> PlaceReport {
        var report = PlaceReport("blobs")
        var doomed: [BlobStore.Listed] = []
        try await blobs.forEachBlob { page in
            for blob in page where mine(blob, subject) {
                report.add("\(blob.path) (\(blob.size) bytes)", at: blob.modified)
                doomed.append(blob)
            }
        }
        guard forget else { return report }
        for blob in doomed {
            try await blobs.delete(blob.reference)
            report.removed += 1
        }
        return report
    }
}
