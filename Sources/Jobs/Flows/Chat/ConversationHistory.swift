import Foundation
import Services

/// What the guest and the agents said before the message being answered, as chat turns: the
/// guest's messages as the user's, the agents' and the bot's replies as the assistant's. Private
/// notes (agents' asides, our own failure notes) and activity lines never reach the model.
enum ConversationHistory {
    /// The last `limit` turns before message `current` (all of them when `current` is not a
    /// Chatwoot message, as for a direct voice upload).
    static func turns(_ messages: [ChatwootClient.HistoryMessage], before current: Int, limit: Int) -> [ChatCompletionsClient.Message] {
        let spoken =
            messages
            .filter { !$0.isPrivate && ($0.messageType == .incoming || $0.messageType == .outgoing) && (current <= 0 || $0.id < current) }
            .sorted { $0.id < $1.id }
            .compactMap { message -> ChatCompletionsClient.Message? in
                guard let text = message.content?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
                return message.messageType == .incoming ? .user(text) : .assistant(text)
            }
        return Array(spoken.suffix(limit))
    }
}
