import Foundation

/// Chatwoot's application API, for what Switchboard writes back into a conversation
/// (docs/contracts.md §1b–1c): replies and private notes, audio as an `attachments[]` part, labels,
/// and team assignment; and, to find the conversation a call or a booking belongs to, contact
/// search and a contact's conversations (developers.chatwoot.com/api-reference/contacts:
/// `GET …/contacts/search?q=` and `GET …/contacts/{id}/conversations`, both `{"payload": [...]}`).
/// Authenticated with `api_access_token`, with two tokens (docs/contracts.md §1d): what the assistant
/// says and does — messages, attachments, team assignment, hand-off — with the agent bot's token
/// when there is one, so it shows as the bot's and `toggle_status` runs Chatwoot's bot hand-off;
/// everything read (history, contacts, their conversations, a conversation's state, labels) with
/// the user's token, which an agent bot's cannot do.
public struct ChatwootClient: Sendable {
    public let baseURL: String
    private let token: String
    private let botToken: String?
    private let http: HTTPClient
    private let timeout: Duration

    public init(baseURL: String, apiToken: String, botToken: String? = nil, http: HTTPClient, timeout: Duration = .seconds(15)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        token = apiToken
        self.botToken = botToken?.isEmpty == false ? botToken : nil
        self.http = http
        self.timeout = timeout
    }

    /// What decides whose turn it is in a conversation: its status and whether a person has it.
    public struct ConversationState: Sendable, Equatable {
        /// `open`, `pending`, `resolved` or `snoozed`.
        public var status: String?
        /// The assigned agent's id, if any.
        public var assigneeID: Int?
        /// The conversation's team, if any.
        public var teamID: Int?
        /// The inbox it belongs to, and that inbox's channel type (`Channel::Api`, `Channel::Whatsapp`…).
        public var inboxID: Int?
        public var channel: String?

        public init(status: String?, assigneeID: Int?, teamID: Int? = nil, inboxID: Int? = nil, channel: String? = nil) {
            self.status = status
            self.assigneeID = assigneeID
            self.teamID = teamID
            self.inboxID = inboxID
            self.channel = channel
        }
    }

    /// The conversation's status, assignee, team and inbox (`GET …/conversations/{c}`: `status`,
    /// `inbox_id`, `meta.assignee`, `meta.team`, `meta.channel`).
    public func conversationState(account: Int, conversation: Int) async throws -> ConversationState {
        struct Shown: Decodable {
            struct Meta: Decodable {
                struct Identified: Decodable { var id: Int? }
                var assignee: Identified?
                var team: Identified?
                var channel: String?
            }
            var status: String?
            var inboxID: Int?
            var channel: String?
            var meta: Meta?

            enum CodingKeys: String, CodingKey {
                case status
                case inboxID = "inbox_id"
                case channel, meta
            }
        }
        let shown = try await decode(Shown.self, request("GET", "/api/v1/accounts/\(account)/conversations/\(conversation)"))
        return ConversationState(
            status: shown.status, assigneeID: shown.meta?.assignee?.id, teamID: shown.meta?.team?.id,
            inboxID: shown.inboxID, channel: shown.meta?.channel ?? shown.channel)
    }

    /// Sets the conversation's status (`open` hands a bot's conversation to people).
    public func toggleStatus(account: Int, conversation: Int, to status: String) async throws {
        struct Body: Encodable { var status: String }
        _ = try await http.sendChecked(
            request(
                "POST", "/api/v1/accounts/\(account)/conversations/\(conversation)/toggle_status",
                json: Body(status: status), asBot: true))
    }

    /// A message Chatwoot created, as much of it as Switchboard uses.
    public struct Message: Decodable, Sendable {
        public var id: Int
        public var content: String?
        public var isPrivate: Bool?

        enum CodingKeys: String, CodingKey {
            case id, content
            case isPrivate = "private"
        }
    }

    /// Posts a text message: an outgoing reply the guest sees, or (`isPrivate`) a note only agents see.
    public func postMessage(account: Int, conversation: Int, content: String, isPrivate: Bool = false) async throws -> Message {
        struct Body: Encodable {
            var content: String
            var message_type = "outgoing"
            var `private`: Bool
            var content_type = "text"
        }
        let request = try self.request(
            "POST", messagesPath(account, conversation), json: Body(content: content, private: isPrivate), asBot: true)
        return try await decode(Message.self, request)
    }

    /// Posts an audio file with its text (so agents can read what the guest hears), as one
    /// multipart message with an `attachments[]` part.
    public func postAudio(account: Int, conversation: Int, content: String, audio: [UInt8], filename: String, contentType: String)
        async throws -> Message
    {
        var form = MultipartFormBody()
        form.field("content", content)
        form.field("message_type", "outgoing")
        form.field("private", "false")
        form.file("attachments[]", filename: filename, contentType: contentType, data: audio)
        let request = HTTPClient.Request(
            "POST", baseURL + messagesPath(account, conversation),
            headers: [("api_access_token", botToken ?? token), ("Content-Type", form.contentType), ("Accept", "application/json")],
            body: form.body, timeout: timeout, service: .chatwoot)
        return try await decode(Message.self, request)
    }

    /// The conversation's labels.
    public func labels(account: Int, conversation: Int) async throws -> [String] {
        try await decode(Payload<String>.self, request("GET", labelsPath(account, conversation))).payload
    }

    /// Replaces the conversation's labels (Chatwoot's endpoint sets the whole list).
    @discardableResult
    public func setLabels(account: Int, conversation: Int, _ labels: [String]) async throws -> [String] {
        struct Body: Encodable { var labels: [String] }
        return try await decode(Payload<String>.self, request("POST", labelsPath(account, conversation), json: Body(labels: labels)))
            .payload
    }

    /// Adds labels to those already there (read, merge, write): the endpoint replaces the list, so
    /// sending only the new ones would drop the agents' own labels. `removing` come off the list.
    @discardableResult
    public func addLabels(account: Int, conversation: Int, _ adding: [String], removing: Set<String> = []) async throws -> [String] {
        let current = try await labels(account: account, conversation: conversation)
        var merged = current.filter { !removing.contains($0) }
        for label in adding where !merged.contains(label) { merged.append(label) }
        guard merged != current else { return current }
        return try await setLabels(account: account, conversation: conversation, merged)
    }

    /// Assigns the conversation to a team (no agent: the team's members pick it up). Chatwoot
    /// answers `null` for a team it does not know, and clears the conversation's team: an error.
    public func assignTeam(account: Int, conversation: Int, teamID: Int) async throws {
        struct Body: Encodable { var team_id: Int }
        let request = try request(
            "POST", "/api/v1/accounts/\(account)/conversations/\(conversation)/assignments", json: Body(team_id: teamID), asBot: true)
        let response = try await http.sendChecked(request)
        if response.text.trimmingCharacters(in: .whitespacesAndNewlines) == "null" {
            throw HTTPFailure(
                kind: .unexpectedAnswer, request: Transfer.describe(request),
                detail: "no team \(teamID) in account \(account) (TRIAGE_TEAMS): the conversation's team was cleared")
        }
    }

    /// A message of a conversation's history, as much of it as an answer draws on.
    public struct HistoryMessage: Decodable, Sendable, Equatable {
        public var id: Int
        public var content: String?
        /// Incoming is the guest; outgoing an agent or the bot. A message without one counts as activity.
        public var messageType: ChatwootMessageType
        public var isPrivate: Bool
        /// Unix seconds, when the list gives it.
        public var createdAt: Int?
        /// `sender.type`: `user` (an agent, or a user token's API call), `agent_bot`, `contact`.
        public var senderType: String?

        enum CodingKeys: String, CodingKey {
            case id, content, sender
            case messageType = "message_type"
            case isPrivate = "private"
            case createdAt = "created_at"
        }

        struct Sender: Decodable { var type: String? }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(Int.self, forKey: .id)
            content = try? container.decodeIfPresent(String.self, forKey: .content)
            // Public only when Chatwoot says exactly `false`: "true", 1, null or no field at all
            // could be a note, and a note never reaches a guest's answer as the guest's or an agent's words.
            let number = try? container.decode(Int.self, forKey: .isPrivate)
            isPrivate = !(number == nil && (try? container.decode(Bool.self, forKey: .isPrivate)) == false)
            messageType = (try? container.decodeIfPresent(ChatwootMessageType.self, forKey: .messageType)) ?? .activity
            createdAt = try? container.decodeIfPresent(Int.self, forKey: .createdAt)
            senderType = (try? container.decodeIfPresent(Sender.self, forKey: .sender))?.type
        }
    }

    /// The conversation's latest messages (one page, oldest first), or those before message `before`
    /// (`GET …/conversations/{c}/messages?before=`, developers.chatwoot.com/api-reference/messages/get-messages).
    public func messages(account: Int, conversation: Int, before: Int? = nil) async throws -> [HistoryMessage] {
        let query = before.map { "?before=\($0)" } ?? ""
        return try await decode(Payload<HistoryMessage>.self, request("GET", messagesPath(account, conversation) + query)).payload
    }

    /// A contact as the search returns it, as much of it as Switchboard uses.
    public struct Contact: Decodable, Sendable {
        public var id: Int
        public var name: String?
        public var email: String?
        public var phoneNumber: String?

        enum CodingKeys: String, CodingKey {
            case id, name, email
            case phoneNumber = "phone_number"
        }
    }

    /// A contact's conversation: its display id (what the API's paths take) and when it was last active.
    public struct Conversation: Decodable, Sendable {
        public var id: Int
        public var status: String?
        /// Unix seconds of the last activity, or of creation when Chatwoot sends no activity time.
        public var lastActivity: Double

        enum CodingKeys: String, CodingKey {
            case id, status
            case lastActivityAt = "last_activity_at"
            case timestamp
            case createdAt = "created_at"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(Int.self, forKey: .id)
            status = try? container.decodeIfPresent(String.self, forKey: .status)
            // The docs show `timestamp` as a string in one place and a number in another: take either.
            func seconds(_ key: CodingKeys) -> Double? {
                if let value = try? container.decodeIfPresent(Double.self, forKey: key) { return value }
                return (try? container.decodeIfPresent(String.self, forKey: key)).flatMap { $0.flatMap(Double.init) }
            }
            lastActivity = seconds(.lastActivityAt) ?? seconds(.timestamp) ?? seconds(.createdAt) ?? 0
        }
    }

    /// Contacts whose name, email, phone number or identifier contain `query` (one page).
    public func searchContacts(account: Int, query: String) async throws -> [Contact] {
        let path = "/api/v1/accounts/\(account)/contacts/search?q=" + PercentEncoding.component(query)
        return try await decode(Payload<Contact>.self, request("GET", path)).payload
    }

    /// Contact `id`, or nil when Chatwoot has none by that id (404: deleted, or never there).
    public func contact(account: Int, id: Int) async throws -> Contact? {
        let request = request("GET", "/api/v1/accounts/\(account)/contacts/\(id)")
        let response = try await http.send(request)
        if response.status == 404 { return nil }
        guard (200..<300).contains(response.status) else { throw HTTPFailure.from(response, request: Transfer.describe(request)) }
        struct Answer: Decodable { var payload: Contact }
        if let wrapped = try? JSONDecoder().decode(Answer.self, from: Data(response.body)) { return wrapped.payload }
        return try ServiceJSON.decode(Contact.self, from: response, request: Transfer.describe(request))
    }

    /// The contact's conversations.
    public func conversations(account: Int, contact: Int) async throws -> [Conversation] {
        try await decode(Payload<Conversation>.self, request("GET", "/api/v1/accounts/\(account)/contacts/\(contact)/conversations"))
            .payload
    }

    // MARK: Plumbing

    struct Payload<Item: Decodable>: Decodable { var payload: [Item] }

    private func messagesPath(_ account: Int, _ conversation: Int) -> String {
        "/api/v1/accounts/\(account)/conversations/\(conversation)/messages"
    }

    private func labelsPath(_ account: Int, _ conversation: Int) -> String {
        "/api/v1/accounts/\(account)/conversations/\(conversation)/labels"
    }

    private func request(_ method: String, _ path: String) -> HTTPClient.Request {
        HTTPClient.Request(
            method, baseURL + path, headers: [("api_access_token", token), ("Accept", "application/json")], timeout: timeout,
            service: .chatwoot)
    }

    /// `asBot`: with the agent bot's token when there is one.
    private func request<Body: Encodable>(_ method: String, _ path: String, json: Body, asBot: Bool = false) throws -> HTTPClient.Request {
        HTTPClient.Request(
            method, baseURL + path,
            headers: [
                ("api_access_token", asBot ? botToken ?? token : token), ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            body: try ServiceJSON.body(json), timeout: timeout, service: .chatwoot)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: HTTPClient.Request) async throws -> T {
        let response = try await http.sendChecked(request)
        return try ServiceJSON.decode(T.self, from: response, request: Transfer.describe(request))
    }
}
