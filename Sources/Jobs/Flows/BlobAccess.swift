import Blobs
import Queue
import Services

/// A stage's reads and writes of the blob store, as job failures: a bucket that is briefly
/// unreachable or throttling is retried like any service; a blob that is missing, unreadable or
/// not ours cannot get better by waiting and dead-letters at once.
enum BlobAccess {
    static func read(_ blobs: BlobStore, _ reference: String) async throws -> [UInt8] {
        do {
            return try await blobs.read(reference)
        } catch let failure as HTTPFailure {
            throw JobFailure(failure)
        } catch {
            throw JobFailure.permanent("the audio \(reference) cannot be read: \(error)")
        }
    }

    static func commit(_ blob: BlobWriter) async throws {
        do {
            try await blob.commit()
        } catch let failure as HTTPFailure {
            throw JobFailure(failure)
        }
    }
}
