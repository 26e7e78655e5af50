import Foundation
import Hummingbird

/// A small Chatwoot application API with state: contacts (searched by substring of name, email and
/// phone number, as Chatwoot does), their conversations, each conversation's labels (the POST
/// replaces the set), team, status and assignee, and the messages posted. Every request must carry
/// the `api_access_token`; anything else answers 401, an unknown conversation 404. An agent bot's
/// token (`botToken`) is refused (401) wherever Chatwoot refuses it (docs/contracts.md §1d): it may post
/// messages, toggle the status and assign, nothing else — no history, no contacts, no labels.
public final class FakeChatwoot: Sendable {
    public struct Contact: Sendable {
        public var id: Int
        public var name: String
        public var email: String?
        public var phone: String?
        public init(id: Int, name: String, email: String? = nil, phone: String? = nil) {
            self.id = id
            self.name = name
            self.email = email
            self.phone = phone
        }
    }

    public struct Conversation: Sendable {
        public var id: Int
        public var contact: Int
        public var lastActivityAt: Int
        public var labels: [String] = []
        public var team: Int?
        /// `open`, `pending`, `resolved` or `snoozed`; `toggle_status` sets it.
        public var status: String
        /// The agent assigned, if any.
        public var assignee: Int?
        /// Its messages, oldest first; what is posted joins them.
        public var history: [HistoryMessage]
        /// Its inbox and that inbox's channel type, as `meta.channel` says it.
        public var inbox: Int
        public var channel: String
        public init(
            id: Int, contact: Int = 7, lastActivityAt: Int = 1_700_000_000, labels: [String] = [], history: [HistoryMessage] = [],
            status: String = "open", assignee: Int? = nil, inbox: Int = 1, channel: String = "Channel::WebWidget"
        ) {
            self.inbox = inbox
            self.channel = channel
            self.status = status
            self.assignee = assignee
            self.id = id
            self.contact = contact
            self.lastActivityAt = lastActivityAt
            self.labels = labels
            self.history = history
        }
    }

    /// A message as the messages API lists it: type 0 incoming, 1 outgoing, 2 activity.
    public struct HistoryMessage: Sendable {
        public var id: Int
        public var content: String
        public var messageType: Int
        public var isPrivate: Bool
        /// Unix seconds; what is posted gets the time it was posted.
        public var createdAt: Int
        public init(id: Int, content: String, messageType: Int, isPrivate: Bool = false, createdAt: Int? = nil) {
            self.id = id
            self.content = content
            self.messageType = messageType
            self.isPrivate = isPrivate
            self.createdAt = createdAt ?? 1_700_000_000 + id
        }
    }

    public struct Posted: Sendable {
        public var conversation: Int
        public var content: String
        public var isPrivate: Bool
        public var multipart: Bool
        /// Posted with the agent bot's token.
        public var byBot: Bool = false
    }

    public let contacts: LockedValue<[Contact]>
    public let conversations: LockedValue<[Int: Conversation]>
    public let posted: LockedValue<[Posted]>
    public let service: FakeService

    /// `history`, when given, answers every read of a conversation's messages instead (a 401 as an
    /// agent bot's token gets, something that is not the messages API's shape).
    /// `slowPosts`: a posted message is created at once but answered only this much later (a
    /// client that gives up first does not know it was created).
    public init(
        token: String, botToken: String? = nil, contacts: [Contact] = [], conversations: [Conversation] = [], delay: Duration = .zero,
        history: Response? = nil, slowPosts: Duration = .zero, host: String = "127.0.0.1", port: Int = 0
    ) async throws {
        let contactState = LockedValue(contacts)
        let conversationState = LockedValue(Dictionary(uniqueKeysWithValues: conversations.map { ($0.id, $0) }))
        let posted = LockedValue<[Posted]>([])
        self.contacts = contactState
        self.conversations = conversationState
        self.posted = posted
        service = try await FakeService(delay: delay, host: host, port: port) { received in
            if let history, received.method == "GET", received.path.hasSuffix("/messages") { return history }
            let response = Self.handle(
                received, token: token, botToken: botToken, contacts: contactState, conversations: conversationState, posted: posted)
            if slowPosts > .zero, received.method == "POST", received.path.hasSuffix("/messages") { try? await Task.sleep(for: slowPosts) }
            return response
        }
    }

    public var url: String { service.url }
    public var requests: [FakeService.Received] { service.requests }
    public var messages: [Posted] { posted.value }

    static func handle(
        _ received: FakeService.Received, token: String, botToken: String? = nil, contacts: LockedValue<[Contact]>,
        conversations: LockedValue<[Int: Conversation]>, posted: LockedValue<[Posted]>
    ) -> Response {
        let given = received.headers["api_access_token"]
        let asBot = botToken != nil && given == botToken
        guard given == token || asBot else {
            return FakeService.answer(.unauthorized, #"{"errors":["You need to sign in or sign up before continuing."]}"#)
        }
        // What an agent bot's token may do (access_token_auth_helper.rb): post, toggle status, assign.
        if asBot, !(received.method == "POST" && ["/messages", "/toggle_status", "/assignments"].contains { received.path.hasSuffix($0) }) {
            return FakeService.answer(.unauthorized, #"{"error":"Invalid Access Token"}"#)
        }
        let parts = received.path.split(separator: "/").map(String.init)
        // api v1 accounts {a} …
        guard parts.count >= 5, parts[0] == "api", parts[1] == "v1", parts[2] == "accounts", Int(parts[3]) != nil else {
            return FakeService.answer(.notFound)
        }
        let rest = Array(parts.dropFirst(4))
        switch (received.method, rest.count, rest.first) {
        case ("GET", 2, "contacts") where rest[1] == "search":
            let query =
                received.query.split(separator: "&").first { $0.hasPrefix("q=") }
                .map { String($0.dropFirst(2)).removingPercentEncoding ?? "" }?.lowercased() ?? ""
            let found = contacts.value.filter { contact in
                !query.isEmpty && [contact.name, contact.email ?? "", contact.phone ?? ""].contains { $0.lowercased().contains(query) }
            }
            let items = found.map { contact in
                json([
                    "id": contact.id, "name": contact.name, "email": contact.email as Any, "phone_number": contact.phone as Any,
                    "identifier": NSNull(),
                ])
            }
            return FakeService.answer(
                .ok, #"{"meta":{"count":\#(items.count),"current_page":"1"},"payload":[\#(items.joined(separator: ","))]}"#)
        case ("GET", 2, "contacts"):
            // contacts/show.json.jbuilder: the contact under `payload`; a deleted one is 404.
            guard let contact = contacts.value.first(where: { $0.id == Int(rest[1]) }) else {
                return FakeService.answer(.notFound, #"{"error":"Resource could not be found"}"#)
            }
            return FakeService.answer(
                .ok,
                json([
                    "payload": [
                        "id": contact.id, "name": contact.name, "email": contact.email as Any, "phone_number": contact.phone as Any,
                        "identifier": NSNull(),
                    ] as [String: Any]
                ]))
        case ("GET", 3, "contacts") where rest[2] == "conversations":
            let contact = Int(rest[1]) ?? -1
            let items = conversations.value.values.filter { $0.contact == contact }.sorted { $0.id < $1.id }.map { conversation in
                json([
                    "id": conversation.id, "status": conversation.status, "labels": conversation.labels,
                    "last_activity_at": conversation.lastActivityAt,
                    "timestamp": conversation.lastActivityAt, "messages": [Any](),
                ])
            }
            return FakeService.answer(.ok, #"{"payload":[\#(items.joined(separator: ","))]}"#)
        case ("GET", 2, "conversations"):
            guard let id = Int(rest[1]), let conversation = conversations.value[id] else {
                return FakeService.answer(.notFound, #"{"error":"Resource could not be found"}"#)
            }
            let assignee: Any =
                conversation.assignee.map { ["id": $0, "name": "Agent \($0)", "type": "user"] as [String: Any] } ?? NSNull()
            return FakeService.answer(
                .ok,
                json([
                    "id": id, "status": conversation.status, "labels": conversation.labels, "inbox_id": conversation.inbox,
                    "meta": [
                        "assignee": assignee, "team": conversation.team.map { ["id": $0] as Any } ?? NSNull(),
                        "channel": conversation.channel,
                    ],
                ]))
        case (_, 3, "conversations"):
            guard let id = Int(rest[1]), conversations.value[id] != nil else {
                return FakeService.answer(.notFound, #"{"error":"Resource could not be found"}"#)
            }
            return conversation(received, id: id, what: rest[2], conversations: conversations, posted: posted, byBot: asBot)
        default:
            return FakeService.answer(.notFound)
        }
    }

    static func conversation(
        _ received: FakeService.Received, id: Int, what: String, conversations: LockedValue<[Int: Conversation]>,
        posted: LockedValue<[Posted]>, byBot: Bool
    ) -> Response {
        let body = jsonFields(received.body)
        switch (received.method, what) {
        case ("POST", "toggle_status"):
            guard let status = body["status"] as? String, ["open", "pending", "resolved", "snoozed"].contains(status) else {
                return FakeService.answer(.unprocessableContent, #"{"error":"status"}"#)
            }
            conversations.withLock { $0[id]?.status = status }
            return FakeService.answer(
                .ok, json(["meta": [:] as [String: Any], "payload": ["success": true, "conversation_id": id, "current_status": status]]))
        case ("GET", "labels"):
            return FakeService.answer(.ok, json(["payload": conversations.value[id]?.labels ?? []]))
        case ("POST", "labels"):
            guard let labels = body["labels"] as? [String] else {
                return FakeService.answer(.unprocessableContent, #"{"error":"labels missing"}"#)
            }
            conversations.withLock { $0[id]?.labels = labels }
            return FakeService.answer(.ok, json(["payload": labels]))
        case ("POST", "assignments"):
            guard let team = body["team_id"] as? Int else {
                return FakeService.answer(.unprocessableContent, #"{"error":"team_id missing"}"#)
            }
            conversations.withLock { $0[id]?.team = team }
            return FakeService.answer(.ok, json(["id": team, "name": "Team \(team)"]))
        case ("GET", "messages"):
            // The latest twenty, or the twenty before `before`, oldest first.
            let before = received.query.split(separator: "&").first { $0.hasPrefix("before=") }.flatMap {
                Int($0.dropFirst("before=".count))
            }
            let page = (conversations.value[id]?.history ?? []).filter { before == nil || $0.id < before! }.suffix(20)
            let items = page.map { message in
                json([
                    "id": message.id, "content": message.content, "message_type": message.messageType, "private": message.isPrivate,
                    "conversation_id": id, "content_type": "text", "created_at": message.createdAt,
                ])
            }
            return FakeService.answer(.ok, #"{"meta":{"labels":[],"contact":{}},"payload":[\#(items.joined(separator: ","))]}"#)
        case ("POST", "messages"):
            let multipart = received.headers["content-type"]?.hasPrefix("multipart/form-data") == true
            guard multipart || received.headers["content-type"] == "application/json" else {
                return FakeService.answer(.unsupportedMediaType)
            }
            let content = multipart ? multipartField(received.body, "content") ?? "" : body["content"] as? String ?? ""
            let isPrivate = multipart ? false : body["private"] as? Bool ?? false
            guard multipart || body["message_type"] as? String == "outgoing" else {
                return FakeService.answer(.unprocessableContent, #"{"error":"message_type"}"#)
            }
            let number = posted.withLock { list in
                list.append(Posted(conversation: id, content: content, isPrivate: isPrivate, multipart: multipart, byBot: byBot))
                return list.count
            }
            conversations.withLock {
                $0[id]?.history.append(
                    HistoryMessage(
                        id: 9000 + number, content: content, messageType: 1, isPrivate: isPrivate,
                        createdAt: Int(Date().timeIntervalSince1970)))
            }
            return FakeService.answer(
                .ok, json(["id": 9000 + number, "content": content, "private": isPrivate, "conversation_id": id, "message_type": 1]))
        default:
            return FakeService.answer(.notFound)
        }
    }

    /// A text field of a multipart form body.
    static func multipartField(_ body: [UInt8], _ name: String) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        guard let start = text.range(of: "name=\"\(name)\"\r\n\r\n") else { return nil }
        let rest = text[start.upperBound...]
        guard let end = rest.range(of: "\r\n--") else { return nil }
        return String(rest[..<end.lowerBound])
    }

    static func json(_ object: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
