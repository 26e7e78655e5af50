import Blobs
import Queue
import Services

/// A stage's reads of the blob store: a bucket that is briefly unreachable or throttling fails as
/// any service does (the catalogue reads its `HTTPFailure`); a blob that is missing, unreadable
/// or not ours cannot get better by waiting and dead-letters at once.
enum BlobAccess {
    static func read(_ blobs: BlobStore, _ reference: String) async throws -> [UInt8] {
        do {
            return try await blobs.read(reference)
        } catch let failure as HTTPFailure {
            throw failure
        } catch {
            throw JobFailure.permanent("the audio \(reference) cannot be read: \(error)")
        }
    }
}
