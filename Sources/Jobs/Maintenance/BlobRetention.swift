import Blobs
import Foundation
import Queue
import Services

/// `blobs.sweep`: removes audio older than a number of days from the blob store (uploads, call
/// recordings and spoken answers whose flows are long done), so a volume or a bucket does not
/// fill up. The scheduler enqueues it (see `schedule.json`); a consumer with a `BLOB_STORE` runs it.
public enum BlobRetention {
    public static let kind = "blobs.sweep"
    public static let queue = "blobs"

    /// The sweep's payload: how old a blob must be to go (default 30 days, at least 1).
    public struct Request: Codable, Sendable {
        public var olderThanDays: Int?
        enum CodingKeys: String, CodingKey { case olderThanDays = "older_than_days" }
    }

    /// The sweep's definition; without a blob store (as the scheduler knows it) it cannot run.
    public static func definition(_ blobs: BlobStore?) -> JobDefinition {
        JobDefinition(
            kind: kind, queue: queue, retry: .exponentialJitter(maxAttempts: 3, base: .seconds(60), cap: .seconds(600)),
            timeout: .seconds(600), payload: Request.self
        ) { request, context in
            guard let blobs else { throw JobFailure.permanent("this consumer has no BLOB_STORE to sweep") }
            let days = request.olderThanDays ?? 30
            guard days >= 1 else {
                throw JobFailure.permanent("older_than_days must be at least 1 (a younger blob may still be needed), not \(days)")
            }
            let swept = try await blobs.sweep(olderThan: Date().addingTimeInterval(-Double(days) * 86_400))
            context.logger.info(
                "blob store swept", metadata: ["blobs": "\(swept.blobs)", "bytes": "\(swept.bytes)", "older_than_days": "\(days)"])
            return .done
        }
    }
}
