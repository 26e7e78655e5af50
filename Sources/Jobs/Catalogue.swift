import Blobs
import Foundation
import Queue
import Services

/// Every job kind Switchboard knows, with its queue, retry policy and timeout. The consumer runs
/// what this lists; `switchboard consumer` without `--queues` reads every queue named here.
public enum Catalogue {
    /// The kinds this process can run: the diagnostic ones, each flow whose services are given, and
    /// the blob store's sweep when there is a blob store (the flows' or `blobs`). `crash` kills the
    /// process only when `allowCrash` (`Diagnostics.crashAllowed`, read by the command).
    public static func registry(
        allowCrash: Bool = false, flows: FlowServices? = nil,
        blobs: BlobStore? = nil, backups: BackupServices? = nil, budgets: RetryBudgets = .defaults
    ) -> JobRegistry {
        let store = blobs ?? flows?.blobs
        let every =
            Diagnostics.all(allowCrash: allowCrash) + (flows.map(flowDefinitions) ?? [])
            + (store.map { [BlobRetention.definition($0)] } ?? []) + (backups.map(Backups.definitions) ?? [])
            + (flows.map { Privacy.definitions($0, blobs: store, mirror: backups?.attachments) } ?? [])
        return JobRegistry(every.map { callingServices($0, budgets: budgets) })
    }

    /// The kinds the scheduler may enqueue: those any consumer runs without a flow, and the
    /// maintenance ones that consumers with the right settings run.
    public static func schedulable(budgets: RetryBudgets = .defaults) -> JobRegistry {
        let maintenance =
            [BlobRetention.definition(nil), PhaseAdvance.definition(nil)] + Privacy.scheduled
            + Backups.definitions(nil).filter { Backups.scheduled.contains($0.kind) }
        return JobRegistry(
            Array(registry(budgets: budgets).definitions.values)
                + maintenance.map { callingServices($0, budgets: budgets) })
    }

    /// Every kind of this build and the queue it runs on, whatever this process is configured
    /// for (`StageGraph`): what the command line checks an enqueue or an import against, so nothing
    /// is put on a queue where no consumer could ever run it. (DeploymentTests holds it equal to the
    /// registry of a consumer with every flow configured.)
    public static let queueOfKind: [String: String] = Dictionary(uniqueKeysWithValues: StageGraph.stages.map { ($0.kind, $0.queue) })

    /// Every queue of this build, sorted.
    public static var allQueues: [String] { StageGraph.queues }

    /// Why a job of `kind` (nil: any) may not be put on `queue`, or nil when it may: no kind of
    /// this build runs there (a typo, `*`, an empty name), or the kind runs on another queue — a
    /// consumer refuses a queue it cannot serve, so the job would wait for ever. The one rule for
    /// `enqueue`, `queues pause`, a schedule entry and `dead import`; `shown` writes outside text
    /// out safely for where the message goes (a terminal's escapes).
    public static func placementProblem(kind: String?, queue: String, shown: (String) -> String = { $0 }) -> String? {
        if let kind, let home = queueOfKind[kind], home != queue {
            return "kind '\(shown(kind))' runs on queue '\(home)', not '\(shown(queue))'"
        }
        guard allQueues.contains(queue) else {
            return
                "no job kind of this build runs on queue '\(shown(String(queue.prefix(80))))' (queues: \(allQueues.joined(separator: ", ")))"
        }
        return nil
    }

    /// Every flow stage this process can run.
    static func flowDefinitions(_ services: FlowServices) -> [JobDefinition] {
        ChatFlow.definitions(services) + VoiceFlow.definitions(services) + CallFlow.definitions(services)
            + BookingFlow.definitions(services) + KnowledgeIndexing.definitions(services)
    }

    /// Every kind as the registry runs it: with the operator's retry setting for it
    /// (`RETRY_<KIND>`), at its flow's priority, its next job held to the stage graph, and — the one
    /// place this happens — a service's failure that escapes it (`HTTPFailure`, whichever call
    /// made it) read by the shared error model: a 429 is throttling, a 400 permanent, a 503 worth
    /// another attempt. Stages throw what they meet.
    static func callingServices(_ definition: JobDefinition, budgets: RetryBudgets = .defaults) -> JobDefinition {
        let priority = Flows.priority(ofKind: definition.kind)
        let policy = budgets.policy(for: definition.kind, in: Flows.entry(ofKind: definition.kind), default: definition.retry)
            .holdingBack(atMost: definition.retry.heldBackAtMost)
        return definition.retrying(policy).running { context, run in
            let result = try await CallPriority.$current.withValue(priority) {
                do {
                    return try await run()
                } catch let failure as HTTPFailure {
                    throw JobFailure(failure)
                }
            }
            if case .next(let request) = result, let problem = StageGraph.check(from: context.kind, to: request) {
                throw JobFailure.permanent(problem)
            }
            return result
        }
    }
}
