import Queue
import Services

/// Puts a conversation where its stay phase says: the phase's label on (other phase labels off,
/// the agents' own labels kept) and the phase's team assigned (`TRIAGE_TEAMS`). Quiet: labels are
/// read first and written only when they change, and the team is assigned only when it differs,
/// so triaging a conversation again sends Chatwoot nothing.
enum Triage {
    static func apply(_ services: FlowServices, account: Int, conversation: Int, _ decision: StayPhase.Decision) async throws {
        let phases = Set(StayPhase.allCases.map(\.rawValue))
        switch decision {
        case .label(let phase):
            try await services.chatwoot.addLabels(
                account: account, conversation: conversation, [phase.rawValue], removing: phases.subtracting([phase.rawValue]))
            if let team = services.teams[phase] {
                let current = try await services.chatwoot.conversationState(account: account, conversation: conversation)
                if current.teamID != team {
                    try await services.chatwoot.assignTeam(account: account, conversation: conversation, teamID: team)
                }
            }
        case .clear:
            try await services.chatwoot.addLabels(account: account, conversation: conversation, [], removing: phases)
        case .unknown:
            break
        }
    }
}
