import Foundation
import Jobs
import Services

/// `POST /webhooks/chatwoot`: Chatwoot's agent-bot / account webhook (docs/contracts.md §1a).
///
/// With a secret configured (the account webhook's, the agent bot's, or both: either signs),
/// `X-Chatwoot-Signature` is checked over the raw bytes and unsigned deliveries are refused; without one (Chatwoot before v4.11.2 signs nothing) deliveries are
/// taken as they come. Only `message_created` for an incoming, public message starts work: our
/// own replies are outgoing and private notes are private, so the bot never answers itself; nor in
/// a conversation that is not the assistant's turn by the payload's own `conversation.status` and
/// `conversation.meta.assignee` (`AssistantTurn`; the reply stage asks again before posting). An
/// audio attachment starts the voice flow, text the chat flow. The dedupe key is the message id.
public struct ChatwootWebhook: Sendable {
    let verifier: ChatwootVerifier?
    let turn: AssistantTurn
    let teamInboxes: Set<Int>
    let staffInboxes: Set<Int>
    let handle: String

    /// `secrets`: the account webhook's and the agent bot's (either signs); none takes unsigned
    /// deliveries. `teamInboxes`: inboxes where the team's members (Chatwoot users) ask the
    /// assistant; `staffInboxes`: API inboxes whose contacts are all staff, where contacts ask;
    /// `handle`: what starts an agent's private note to the assistant.
    public init(
        secrets: [String], turn: AssistantTurn = .unassigned, teamInboxes: Set<Int> = [], staffInboxes: Set<Int> = [],
        handle: String = "@assistant"
    ) {
        verifier = secrets.isEmpty ? nil : ChatwootVerifier(secrets: secrets)
        self.turn = turn
        self.teamInboxes = teamInboxes
        self.staffInboxes = staffInboxes
        self.handle = handle
    }

    public func delivery(signature: String?, timestamp: String?, body: [UInt8]) throws -> Delivery {
        try verifier?.verify(signature: signature, timestamp: timestamp, body: body)
        let message = try WebhookJSON.decode(Message.self, from: body)
        let event = try message.event.required("event")
        if event == "conversation_created" {
            // The conversation's own data with `event` (no `account` object; its `account_id`).
            let conversation = try WebhookJSON.decode(CreatedConversation.self, from: body)
            let triage = try NewConversation(
                accountID: try (conversation.accountID ?? message.account?.id).positive("account_id"),
                conversationID: try conversation.id.positive("id"),
                phone: conversation.meta?.sender?.phoneNumber, email: conversation.meta?.sender?.email,
                contactID: conversation.meta?.sender?.id
            ).request()
            return .start(triage.0, dedupe: triage.dedupe)
        }
        if event == "conversation_resolved" || event == "conversation_status_changed" {
            // What the agents answered becomes candidate knowledge, once a person approves it.
            let conversation = try WebhookJSON.decode(CreatedConversation.self, from: body)
            if event == "conversation_status_changed", conversation.status != "resolved" {
                return .ignore(reason: "conversation status \(conversation.status ?? "unknown") is not resolved")
            }
            let resolved = ResolvedConversation(
                accountID: try (conversation.accountID ?? message.account?.id).positive("account_id"),
                conversationID: try conversation.id.positive("id"))
            let dedupe =
                "chatwoot:\(resolved.accountID):resolved:\(resolved.conversationID):\(conversation.updatedAt.map { String(Int($0)) } ?? "-")"
            return .start(try AnswerCandidates.request(resolved, dedupe: dedupe), dedupe: dedupe)
        }
        guard event == "message_created" else { return .ignore(reason: "event \(event) starts no work") }
        if message.isPrivate == true { return try agentNote(message) }
        if let inbox = message.inbox?.id ?? message.conversation?.inboxID, teamInboxes.contains(inbox) || staffInboxes.contains(inbox) {
            return try teamQuestion(message, inbox: inbox)
        }
        guard message.messageType == .incoming else { return .ignore(reason: "not an incoming message") }
        if let type = message.sender?.type, type != "contact" { return .ignore(reason: "sent by a \(type)") }
        let messageID = try message.id.positive("id")
        let accountID = try (message.account?.id).positive("account.id")
        let conversationID = try (message.conversation?.id).positive("conversation.id")
        let conversation = message.conversation
        guard turn.answers(status: conversation?.status, assigned: conversation?.meta?.assignee?.id != nil, handedOff: false) else {
            return .ignore(
                reason:
                    "a person has the conversation (\(conversation?.status ?? "no status"), assignee \(conversation?.meta?.assignee?.id.map(String.init) ?? "none"))"
            )
        }
        let dedupe = "chatwoot:\(accountID):message:\(messageID)"
        // Where only the agent bot's events arrive (no conversation_created), the first message triages.
        let triage = try NewConversation(
            accountID: accountID, conversationID: conversationID, phone: message.sender?.phoneNumber,
            email: message.sender?.email, contactID: message.sender?.id
        ).request()
        let first = [Delivery.Side(triage.0, dedupe: triage.dedupe)]
        let text = message.content?.trimmingCharacters(in: .whitespacesAndNewlines).nonEmpty
        if let index = message.attachments?.firstIndex(where: { $0.fileType == "audio" }), let audio = message.attachments?[index] {
            let url = try audio.dataURL.required("attachments[\(index)].data_url").webURL("attachments[\(index)].data_url")
            let voice = VoiceMessage(
                accountID: accountID, conversationID: conversationID, messageID: messageID,
                audio: AudioSource(
                    url: url,
                    contentType: (audio.fileExtension ?? Self.fileExtension(of: url)).flatMap(AudioTypes.contentType(forExtension:)),
                    byteCount: audio.fileSize),
                caption: text)
            return .start(try Flows.voice.request(voice, dedupe: dedupe), dedupe: dedupe, first: first)
        }
        guard let text else { return .ignore(reason: "no text or audio") }
        // The guest's stay is looked up only by what the channel vouches for (and what calls and
        // reservations verified, added by the consumer), never by what the guest typed.
        let vouched = VerifiedGuest.fromChannel(message.conversation?.channel, phone: message.conversation?.meta?.sender?.phoneNumber)
        let chat = ChatMessage(
            accountID: accountID, conversationID: conversationID, inboxID: message.inbox?.id ?? message.conversation?.inboxID,
            messageID: messageID, content: text, senderID: message.sender?.id, senderName: message.sender?.name,
            verifiedGuest: vouched.isEmpty ? nil : vouched)
        return .start(try Flows.chat.request(chat, dedupe: dedupe), dedupe: dedupe, first: first)
    }

    /// A private note that starts with the assistant's handle, written by an agent: answered as a
    /// private note from the shared knowledge and what is known of this conversation's guest. Any
    /// other private note (our own among them) starts nothing.
    func agentNote(_ message: Message) throws -> Delivery {
        let text = message.content?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard message.sender?.type == "user", !handle.isEmpty, text.lowercased().hasPrefix(handle.lowercased()) else {
            return .ignore(reason: "private note")
        }
        let question = text.dropFirst(handle.count).trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: ",:")))
        guard !question.isEmpty else { return .ignore(reason: "a note to the assistant without a question") }
        let messageID = try message.id.positive("id")
        let accountID = try (message.account?.id).positive("account.id")
        let conversationID = try (message.conversation?.id).positive("conversation.id")
        // The guest as the channel vouches for them, never the email or phone they typed; the
        // consumer adds what calls and reservations verified.
        let guest = VerifiedGuest.fromChannel(message.conversation?.channel, phone: message.conversation?.meta?.sender?.phoneNumber)
        let note = ChatMessage(
            accountID: accountID, conversationID: conversationID, inboxID: message.inbox?.id ?? message.conversation?.inboxID,
            messageID: messageID, content: question, senderID: message.sender?.id, senderName: message.sender?.name,
            audience: .agent, verifiedGuest: guest.isEmpty ? nil : guest)
        let dedupe = "chatwoot:\(accountID):message:\(messageID)"
        return .start(try Flows.chat.request(note, dedupe: dedupe), dedupe: dedupe)
    }

    /// A public message in a team inbox, answered from all of the account's knowledge. Only the
    /// team asks there: in a team inbox a Chatwoot user (answered with a private note); in a staff
    /// inbox — an API inbox whose contacts are all staff — a contact's incoming message (answered
    /// in the open; a user's message there is an answer, perhaps our own). A contact anywhere else
    /// (a website inbox whose widget token leaked, an email inbox anyone can write to) never gets
    /// the team's treatment.
    func teamQuestion(_ message: Message, inbox: Int) throws -> Delivery {
        let sender = message.sender?.type ?? "unknown sender"
        if staffInboxes.contains(inbox) {
            guard sender == "contact", message.messageType == .incoming, message.conversation?.channel == "Channel::Api" else {
                return .ignore(reason: "in a staff inbox only its contacts' incoming messages on an API channel ask (this: \(sender))")
            }
        } else {
            guard sender == "user" else {
                return .ignore(reason: "in a team inbox only the team's members ask (this: \(sender))")
            }
        }
        guard let text = message.content?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            return .ignore(reason: "no text")
        }
        let messageID = try message.id.positive("id")
        let accountID = try (message.account?.id).positive("account.id")
        let conversationID = try (message.conversation?.id).positive("conversation.id")
        let question = ChatMessage(
            accountID: accountID, conversationID: conversationID, inboxID: message.inbox?.id ?? message.conversation?.inboxID,
            messageID: messageID, content: text, senderID: message.sender?.id, senderName: message.sender?.name, audience: .team)
        let dedupe = "chatwoot:\(accountID):message:\(messageID)"
        return .start(try Flows.chat.request(question, dedupe: dedupe), dedupe: dedupe)
    }

    /// The extension of a URL's file name (`…/blobs/redirect/…/voice.ogg?x=1` → `ogg`): Chatwoot's
    /// message builder leaves an attachment's `extension` null (docs/contracts.md §1e).
    static func fileExtension(of url: String) -> String? {
        let path = url.prefix { $0 != "?" && $0 != "#" }
        guard let name = path.split(separator: "/").last, let dot = name.lastIndex(of: ".") else { return nil }
        let ext = name[name.index(after: dot)...]
        return ext.isEmpty || ext.count > 8 ? nil : ext.lowercased()
    }

    struct Message: Decodable {
        var event: String?
        var id: Int?
        var content: String?
        var messageType: ChatwootMessageType?
        var isPrivate: Bool?
        var sender: Sender?
        var inbox: Identified?
        var account: Identified?
        var conversation: Conversation?
        var attachments: [Attachment]?

        enum CodingKeys: String, CodingKey {
            case event, id, content
            case messageType = "message_type"
            case isPrivate = "private"
            case sender, inbox, account, conversation, attachments
        }
    }

    struct Sender: Decodable {
        var id: Int?
        var name: String?
        var type: String?
        var email: String?
        var phoneNumber: String?

        enum CodingKeys: String, CodingKey {
            case id, name, type, email
            case phoneNumber = "phone_number"
        }
    }

    /// `conversation_created`: the conversation's push data, its contact in `meta.sender`.
    struct CreatedConversation: Decodable {
        var id: Int?
        var accountID: Int?
        var meta: CreatedMeta?
        var status: String?
        /// Unix seconds (a number, or a date string Chatwoot sometimes sends, then left out).
        var updatedAt: Double?

        enum CodingKeys: String, CodingKey {
            case id, meta, status
            case accountID = "account_id"
            case updatedAt = "updated_at"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decodeIfPresent(Int.self, forKey: .id)
            accountID = try container.decodeIfPresent(Int.self, forKey: .accountID)
            meta = try container.decodeIfPresent(CreatedMeta.self, forKey: .meta)
            status = try? container.decodeIfPresent(String.self, forKey: .status)
            let time = (try? container.decodeIfPresent(Double.self, forKey: .updatedAt)) ?? nil
            updatedAt = time.flatMap { (0...1e12).contains($0) ? $0 : nil }
        }
    }

    struct CreatedMeta: Decodable {
        var sender: Sender?
    }

    struct Identified: Decodable {
        var id: Int?
    }

    struct Conversation: Decodable {
        var id: Int?
        var inboxID: Int?
        var status: String?
        /// The inbox's channel type (`Channel::Api`, `Channel::Whatsapp`…).
        var channel: String?
        var meta: Meta?

        enum CodingKeys: String, CodingKey {
            case id
            case inboxID = "inbox_id"
            case status, channel, meta
        }
    }

    struct Meta: Decodable {
        var assignee: Identified?
        /// The conversation's contact: the guest.
        var sender: Sender?
    }

    struct Attachment: Decodable {
        var fileType: String?
        var dataURL: String?
        var fileExtension: String?
        var fileSize: Int?

        enum CodingKeys: String, CodingKey {
            case fileType = "file_type"
            case dataURL = "data_url"
            case fileExtension = "extension"
            case fileSize = "file_size"
        }
    }
}
