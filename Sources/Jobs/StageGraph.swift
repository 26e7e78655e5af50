import Queue

/// One kind of job as the stage graph knows it: the queue it runs on, the flow it belongs to, the
/// kinds it may hand on to, and what a consumer must be configured with to run it.
public struct Stage: Sendable, Equatable {
    public let kind: String
    public let queue: String
    /// The flow's name (`chat`, `voice`, `call`, `booking`, `triage`, `knowledge`, `maintenance`,
    /// `backups`, `diagnostics`).
    public let flow: String
    /// The kinds this stage may return as its next job; anything else is refused (`StageGraph.check`).
    public let next: [String]
    /// Whether a webhook, an upload or the schedule starts flows with this kind.
    public let entry: Bool
    public let needs: [StageNeeds]

    init(_ kind: String, on queue: String, flow: String, next: [String] = [], entry: Bool = false, needs: [StageNeeds] = []) {
        self.kind = kind
        self.queue = queue
        self.flow = flow
        self.next = next
        self.entry = entry
        self.needs = needs
    }

    /// The settings this stage cannot run without (`A|B`: one of them), each group's in order.
    public var settings: [String] {
        var seen: Set<String> = []
        return needs.flatMap(\.settings).filter { seen.insert($0).inserted }
    }
}

/// A group of settings stages share; a consumer asked for a queue must have every group its
/// stages need, and names the first setting missing otherwise.
public enum StageNeeds: String, Sendable, CaseIterable {
    case chat, voice, index
    case blobStore = "blob-store"
    case snapshots, dumps, attachments

    /// The required settings (each also as `NAME_FILE`); `A|B` is one of two.
    public var settings: [String] {
        let r2 = ["R2_ENDPOINT|R2_ACCOUNT_ID", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "R2_BUCKET"]
        switch self {
        case .chat: return FlowConfiguration.chatSettings.filter(\.required).map(\.name)
        case .voice: return ["AZURE_SPEECH_KEY", "AZURE_SPEECH_REGION|AZURE_SPEECH_ENDPOINT"]
        case .index: return FlowConfiguration.indexSettings.filter(\.required).map(\.name)
        case .blobStore: return ["BLOB_STORE"]
        case .snapshots: return ["HCLOUD_TOKEN", "BACKUP_SERVER_IDS|BACKUP_SERVER_SELECTOR"]
        case .dumps: return ["DATABASE_URL"] + r2
        case .attachments:
            return ["ATTACHMENTS_S3_ENDPOINT", "ATTACHMENTS_S3_ACCESS_KEY_ID", "ATTACHMENTS_S3_SECRET_ACCESS_KEY", "ATTACHMENTS_S3_BUCKET"]
                + r2
        }
    }
}

/// Every kind of this build as data: which queue, which flow, which next stages, which settings.
/// The catalogue's kind → queue table, the consumer's queue checks and `--help`, `switchboard
/// flows` and the console's graph are all made from this one table, and a handler that hands on to
/// a kind its stage does not list fails permanently instead of sending work where nothing expects it.
public enum StageGraph {
    public static let stages: [Stage] =
        [
            Stage(Flows.chat.kind, on: Flows.chat.queue, flow: "chat", next: [ChatFlow.generateKind], entry: true, needs: [.chat]),
            Stage(
                ChatFlow.generateKind, on: ChatFlow.generateQueue, flow: "chat", next: [ChatFlow.replyKind, VoiceFlow.synthesizeKind],
                needs: [.chat]),
            Stage(ChatFlow.replyKind, on: ChatFlow.replyQueue, flow: "chat", needs: [.chat]),
            Stage(Flows.voice.kind, on: Flows.voice.queue, flow: "voice", next: [Flows.chat.kind], entry: true, needs: [.chat, .voice]),
            Stage(
                VoiceFlow.synthesizeKind, on: VoiceFlow.synthesizeQueue, flow: "voice", next: [VoiceFlow.replyKind], needs: [.chat, .voice]),
            Stage(VoiceFlow.replyKind, on: VoiceFlow.replyQueue, flow: "voice", needs: [.chat, .voice]),
            Stage(
                Flows.call.kind, on: Flows.call.queue, flow: "call", next: [CallFlow.transcribeKind], entry: true,
                needs: [.chat, .index, .voice]),
            Stage(
                CallFlow.transcribeKind, on: CallFlow.transcribeQueue, flow: "call", next: [CallFlow.vectorizeKind],
                needs: [.chat, .index, .voice]),
            Stage(CallFlow.vectorizeKind, on: CallFlow.vectorizeQueue, flow: "call", next: [CallFlow.noteKind], needs: [.chat, .index]),
            Stage(CallFlow.noteKind, on: BookingFlow.triageQueue, flow: "call", needs: [.chat, .index]),
            Stage(
                Flows.booking.kind, on: Flows.booking.queue, flow: "booking", next: [BookingFlow.triageKind], entry: true,
                needs: [.chat, .index]),
            Stage(BookingFlow.triageKind, on: BookingFlow.triageQueue, flow: "booking", needs: [.chat, .index]),
            Stage(ConversationTriage.kind, on: ConversationTriage.queue, flow: "triage", entry: true, needs: [.chat, .index]),
            Stage(PhaseAdvance.kind, on: PhaseAdvance.queue, flow: "triage", entry: true, needs: [.chat, .index]),
            Stage(KnowledgeIndexing.kind, on: KnowledgeIndexing.queue, flow: "knowledge", entry: true, needs: [.chat, .index]),
            Stage(ListingKnowledge.kind, on: ListingKnowledge.queue, flow: "knowledge", entry: true, needs: [.chat, .index]),
            Stage(AnswerCandidates.kind, on: AnswerCandidates.queue, flow: "knowledge", entry: true, needs: [.chat, .index]),
            Stage(KnowledgeRemoval.kind, on: KnowledgeRemoval.queue, flow: "knowledge", entry: true, needs: [.chat, .index]),
            Stage(TrialQuestions.kind, on: TrialQuestions.queue, flow: "knowledge", entry: true, needs: [.chat, .index]),
            Stage(BlobRetention.kind, on: BlobRetention.queue, flow: "maintenance", entry: true, needs: [.blobStore]),
            Stage(PrivacyJobs.runKind, on: PrivacyJobs.queue, flow: "privacy", entry: true, needs: [.chat, .index, .blobStore]),
            Stage(RetentionSweep.kind, on: PrivacyJobs.queue, flow: "privacy", entry: true, needs: [.chat, .index, .blobStore]),
            Stage(DeletedContacts.kind, on: PrivacyJobs.queue, flow: "privacy", entry: true, needs: [.chat, .index, .blobStore]),
            Stage(
                SnapshotBackup.kind, on: SnapshotBackup.queue, flow: "backups", next: [SnapshotBackup.followKind], entry: true,
                needs: [.snapshots]),
            Stage(SnapshotBackup.followKind, on: SnapshotBackup.queue, flow: "backups", needs: [.snapshots]),
            Stage(DatabaseDump.kind, on: DatabaseDump.queue, flow: "backups", entry: true, needs: [.dumps]),
            Stage(AttachmentsMirror.kind, on: AttachmentsMirror.queue, flow: "backups", entry: true, needs: [.attachments]),
        ] + Diagnostics.kinds.map { Stage($0, on: Diagnostics.queue, flow: "diagnostics", entry: true) }

    private static let byKind: [String: Stage] = Dictionary(uniqueKeysWithValues: stages.map { ($0.kind, $0) })

    public static func stage(_ kind: String) -> Stage? { byKind[kind] }

    /// Every queue of this build, sorted.
    public static var queues: [String] { Set(stages.map(\.queue)).sorted() }

    /// Whether any stage on one of `queues` needs `group`.
    public static func needs(_ group: StageNeeds, onAnyOf queues: [String]) -> Bool {
        stages.contains { queues.contains($0.queue) && $0.needs.contains(group) }
    }

    /// Nil when `kind` may hand on to `next` on `queue`, else why not.
    public static func check(from kind: String, to next: JobRequest) -> String? {
        guard let stage = byKind[kind], stage.next.contains(next.kind) else {
            return
                "stage \(kind) may not hand on to \(next.kind) (the stage graph lists: \(byKind[kind]?.next.joined(separator: ", ") ?? "nothing"))"
        }
        guard let expected = byKind[next.kind]?.queue, expected == next.queue else {
            return "stage \(kind) handed \(next.kind) to queue \(next.queue); it runs on \(byKind[next.kind]?.queue ?? "no queue")"
        }
        return nil
    }

    /// The graph for `--help`: per flow, its stages with their queues and next stages.
    public static var summary: String {
        var flows: [String] = []
        var lines: [String: [String]] = [:]
        for stage in stages {
            if lines[stage.flow] == nil { flows.append(stage.flow) }
            let next = stage.next.isEmpty ? "" : " → \(stage.next.joined(separator: " | "))"
            lines[stage.flow, default: []].append("\(stage.kind) (\(stage.queue))\(next)")
        }
        return flows.map { "\($0): \(lines[$0]!.joined(separator: "; "))" }.joined(separator: ". ")
    }
}
