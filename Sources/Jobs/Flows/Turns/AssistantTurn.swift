import Services

/// Whose turn it is in a guest's conversation: the assistant's or the people's.
///
/// The assistant never answers once a person is assigned, nor after it handed the conversation
/// over, until Chatwoot gives the conversation back to it (`pending`, as Chatwoot reopens a bot's
/// conversation). Beyond that, `ASSISTANT_ANSWERS` says which conversations are the bot's:
/// - `pending`: only pending ones — with an agent bot, whose conversations start pending and which
///   hands them over by opening them;
/// - `unassigned` (default): also open ones nobody is assigned to — with an account webhook, whose
///   conversations start open.
/// Checked when a message arrives (from the webhook's own account of the conversation) and again,
/// live, just before the answer is posted, since an agent may take over while it is being written.
public enum AssistantTurn: String, Sendable, CaseIterable {
    case pending
    case unassigned

    /// The rule from `ASSISTANT_ANSWERS`; a value that is neither is refused, naming the setting.
    public static func configured(_ value: String?) throws -> AssistantTurn {
        guard let value, !value.isEmpty else { return .unassigned }
        guard let turn = AssistantTurn(rawValue: value.lowercased()) else {
            throw ConfigurationError("ASSISTANT_ANSWERS '\(value)' is neither pending nor unassigned")
        }
        return turn
    }

    /// Whether the assistant answers in a conversation with this status (`open`, `pending`,
    /// `resolved`, `snoozed`, or unknown), assigned to a person or not, handed over by it or not.
    public func answers(status: String?, assigned: Bool, handedOff: Bool) -> Bool {
        if assigned { return false }
        if status == "pending" { return true }
        switch self {
        case .pending: return false
        case .unassigned: return !handedOff && status != "snoozed"
        }
    }
}
