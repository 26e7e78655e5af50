import Blobs
import Foundation
import Queue
import Services

/// `privacy.contacts` (queue `privacy`, the scheduler's `deleted-contacts` entry, daily): with
/// `PRIVACY_FORGET_DELETED_CONTACTS=1`, asks Chatwoot about each contact Switchboard holds data
/// for (`KnownContacts`) and forgets those it answers 404 for — Chatwoot sends no webhook when a
/// contact is deleted (docs/contracts.md §1f). Each forget is audited as any other, by
/// `privacy.contacts`. Off by default: a contact merged or deleted by mistake is then forgotten too.
public enum DeletedContacts {
    public static let kind = "privacy.contacts"
    static let retry = RetryPolicy.exponentialJitter(maxAttempts: 3, base: .seconds(60), cap: .seconds(600))

    struct Request: Codable, Sendable {}

    static func definition(_ services: FlowServices?, data: (@Sendable (JobContext) async throws -> PersonalData)?) -> JobDefinition {
        JobDefinition(
            kind: kind, queue: PrivacyJobs.queue, retry: retry, timeout: .seconds(3_600), restartable: true, payload: Request.self
        ) {
            _, context in
            guard let services, let account = services.account, let data else {
                throw JobFailure.permanent("this consumer has no CHATWOOT_ACCOUNT_ID: it cannot look contacts up")
            }
            guard services.retention.forgetDeletedContacts else {
                context.logger.info("deleted contacts are not forgotten here (PRIVACY_FORGET_DELETED_CONTACTS is not 1)")
                return .done
            }
            var deleted: [Int] = []
            var checked = 0
            try await KnownContacts.forEach(pool: context.redis, keys: services.keys, account: account) { page in
                for known in page {
                    checked += 1
                    if try await services.chatwoot.contact(account: account, id: known.contact) == nil { deleted.append(known.contact) }
                }
            }
            let personal = try await data(context)
            var incomplete = 0
            for contact in deleted {
                let request = PrivacyRequest(contact: contact, forget: true, requestedBy: kind, waitSeconds: 60)
                let report = await personal.run(request, logger: context.logger)
                if !report.complete { incomplete += 1 }
            }
            context.logger.info(
                "deleted contacts forgotten",
                metadata: ["checked": "\(checked)", "deleted": "\(deleted.count)", "incomplete": "\(incomplete)"])
            if incomplete > 0 {
                throw JobFailure.retryable("\(incomplete) deleted contact(s) not wholly forgotten; the next attempt finishes")
            }
            return .done
        }
    }
}

/// The privacy jobs a consumer of the `privacy` queue runs, and those the scheduler may enqueue.
public enum Privacy {
    static func definitions(_ services: FlowServices, blobs: BlobStore?, mirror: MirrorSettings?) -> [JobDefinition] {
        guard let account = services.account else { return [] }
        let data: @Sendable (JobContext) async throws -> PersonalData = { context in
            PersonalData(
                pool: context.redis, keys: services.keys, account: account, qdrant: services.qdrant, chatwoot: services.chatwoot,
                blobs: blobs, mirror: mirror, queues: try await PrivacyJobs.knownQueues(context.redis, services.keys))
        }
        return [
            PrivacyJobs.definition(services, blobs: blobs, mirror: mirror), RetentionSweep.definition(services, blobs: blobs),
            DeletedContacts.definition(services, data: data),
        ]
    }

    /// Their kinds as the scheduler knows them (they refuse to run without services).
    static var scheduled: [JobDefinition] {
        [RetentionSweep.definition(nil, blobs: nil), DeletedContacts.definition(nil, data: nil)]
    }
}
