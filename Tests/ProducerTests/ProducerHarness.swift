import Crypto
import Foundation
import Logging
import Prometheus
import Queue
import Redis
import Services
import TestSupport

@testable import Producer

/// A producer served in-process on a free loopback port, over a real Redis, with every route
/// configured; requests go over real HTTP. Signing helpers sign the way the senders do.
final class ProducerHarness: Sendable {
    static let aircallToken = "aircall-token-45XXYYZZa08"
    static let guestySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let chatwootSecret = "chatwoot-secret-s3cr3t"
    static let voiceToken = "voice-token-v0ice"

    let server: RedisServer
    let pool: RedisPool
    let keys: Keys
    let port: Int
    let blobs: URL
    let log = LogCapture()
    private let task: Task<Void, any Error>

    init(
        server: RedisServer? = nil, prefix: String = #function, commandTimeout: Duration = .seconds(2),
        configure: (inout ProducerConfiguration) -> Void = { _ in }
    ) async throws {
        if let server { self.server = server } else { self.server = try await RedisServer() }
        pool = RedisPool(endpoint: self.server.endpoint, size: 2, commandTimeout: commandTimeout, logger: log.logger)
        keys = Keys(prefix: prefix.filter { $0.isLetter || $0.isNumber })
        blobs = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-blobs-\(UUID().uuidString)")
        var configuration = ProducerConfiguration(
            redis: self.server.endpoint, prefix: keys.prefix, host: "127.0.0.1", port: 0,
            aircallToken: Self.aircallToken, guestySecret: Self.guestySecret, chatwootSecret: Self.chatwootSecret,
            voiceUploadToken: Self.voiceToken, blobStore: blobs.path, jsonLimit: 64 * 1024, audioLimit: 256 * 1024)
        // Refusals at once, as most tests here expect; the wait for Redis is tested on its own.
        configuration.redisWait = .zero
        configure(&configuration)
        var logger = log.logger
        logger.logLevel = .debug
        // Port 0: the server takes a port nobody else can be given meanwhile (a port found free
        // and then bound later can be taken in between by another test's server).
        let listening = LockedValue<Int?>(nil)
        let app = try ProducerRole.application(
            configuration, pool: pool, metrics: PrometheusCollectorRegistry(), logger: logger,
            onListening: { listening.set($0) })
        task = Task { try await app.run() }
        guard await eventually(timeout: .seconds(10), { listening.value != nil }), let port = listening.value else {
            task.cancel()
            throw TestFailure("the producer did not start listening")
        }
        self.port = port
    }

    deinit {
        task.cancel()
        pool.close()
        try? FileManager.default.removeItem(at: blobs)
    }

    func post(_ path: String, json: String, headers: [(String, String)] = [], contentType: String = "application/json") async throws
        -> LoopbackHTTP.Reply
    {
        try await LoopbackHTTP.send(port: port, path: path, headers: [("Content-Type", contentType)] + headers, body: Array(json.utf8))
    }

    func get(_ path: String) async throws -> LoopbackHTTP.Reply {
        try await LoopbackHTTP.send(port: port, method: "GET", path: path)
    }

    // MARK: Senders

    /// A Guesty delivery signed as Svix signs it.
    func guesty(
        _ body: String, id: String = "msg_\(UUID().uuidString)", timestamp: Int = Int(Date().timeIntervalSince1970),
        secret: String = ProducerHarness.guestySecret
    ) async throws -> LoopbackHTTP.Reply {
        try await post("/webhooks/guesty", json: body, headers: Self.svixHeaders(body, id: id, timestamp: timestamp, secret: secret))
    }

    static func svixHeaders(_ body: String, id: String, timestamp: Int = Int(Date().timeIntervalSince1970), secret: String = guestySecret)
        -> [(String, String)]
    {
        SvixSigning.headers(body, id: id, timestamp: timestamp, secret: secret)
    }

    /// A Chatwoot delivery signed as Chatwoot v4.11.2+ signs it.
    func chatwoot(
        _ body: String, timestamp: Int = Int(Date().timeIntervalSince1970), secret: String = ProducerHarness.chatwootSecret,
        headers: [(String, String)] = []
    ) async throws -> LoopbackHTTP.Reply {
        let signature = HMAC<SHA256>.authenticationCode(
            for: Array("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return try await post(
            "/webhooks/chatwoot", json: body,
            headers: [
                ("X-Chatwoot-Signature", "sha256=\(Hex.encode(signature))"), ("X-Chatwoot-Timestamp", String(timestamp)),
                ("X-Chatwoot-Delivery", UUID().uuidString),
            ] + headers)
    }

    func aircall(_ body: String) async throws -> LoopbackHTTP.Reply {
        try await post("/webhooks/aircall", json: body, headers: [("User-Agent", "axios/1.6"), ("aircall-origin", "webhooks")])
    }

    // MARK: What reached Redis

    func entries(_ queue: String) async throws -> [[String: String]] {
        let reply = try await pool.send("XRANGE", keys.stream(queue), "-", "+")
        return (reply.array ?? []).map { entry in
            Dictionary(
                (entry.array?.last?.pairs ?? []).compactMap { pair in pair.value.string.map { (pair.key, $0) } }, uniquingKeysWith: { $1 })
        }
    }

    func length(_ queue: String) async throws -> Int {
        try await pool.send("XLEN", keys.stream(queue)).integer ?? -1
    }

    /// The JSON payload of a stream entry, parsed.
    static func payload(_ entry: [String: String]) throws -> [String: Any] {
        guard let text = entry["payload"], let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw TestFailure("entry without a JSON object payload: \(entry)")
        }
        return object
    }

    static func json(_ reply: LoopbackHTTP.Reply) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]) ?? [:]
    }
}

/// Bodies as the senders document them (docs/contracts.md §1–3), trimmed to what matters.
enum Fixtures {
    static func chatwootMessage(
        id: Int = 118, type: String = "incoming", isPrivate: Bool = false, content: String? = "Is the pool heated?",
        senderType: String = "contact", attachments: String? = nil, event: String = "message_created",
        status: String = "open", assignee: String = "null", conversation: Int = 10
    ) -> String {
        let contentJSON = content.map { "\"\($0)\"" } ?? "null"
        let attachmentsPart = attachments.map { ", \"attachments\": \($0)" } ?? ""
        return """
            {"event": "\(event)", "id": \(id), "content": \(contentJSON), "created_at": "2021-07-23T18:02:48.000Z",
             "message_type": "\(type)", "content_type": "text", "content_attributes": {}, "additional_attributes": {},
             "private": \(isPrivate), "source_id": null,
             "sender": {"id": 14, "name": "Ada", "avatar": "", "type": "\(senderType)", "email": "ada@example.com", "phone_number": "+33612345678"},
             "inbox": {"id": 1, "name": "Acme Support"}, "account": {"id": 1, "name": "Acme Inc"},
             "conversation": {"id": \(conversation), "inbox_id": 1, "status": "\(status)", "labels": ["vip"], "channel": "Channel::Api", "can_reply": true,
               "meta": {"sender": {}, "assignee": \(assignee), "team": null, "hmac_verified": false},
               "messages": [{"message_type": 0}], "custom_attributes": {}, "unread_count": 1, "timestamp": 1627063369, "created_at": 1627063369}\(attachmentsPart)}
            """
    }

    /// `conversation_created` as an account webhook sends it: the conversation's push data.
    static func conversationCreated(id: Int) -> String {
        """
        {"event": "conversation_created", "id": \(id), "account_id": 1, "inbox_id": 1, "status": "open", "labels": [],
         "channel": "Channel::WebWidget", "can_reply": true, "messages": [], "custom_attributes": {}, "unread_count": 0,
         "meta": {"sender": {"id": 14, "name": "Ada", "email": "ada@example.com", "phone_number": "+33612345678", "type": "contact"},
                  "assignee": null, "team": null, "hmac_verified": false},
         "timestamp": 1627063369, "created_at": 1627063369}
        """
    }

    static let audioAttachment = """
        [{"id": 5, "message_id": 118, "file_type": "audio", "account_id": 1, "extension": "ogg",
          "data_url": "https://chat.example.com/rails/active_storage/blobs/voice.ogg", "thumb_url": "", "file_size": 12345, "width": null, "height": null}]
        """

    static func aircall(
        event: String = "call.ended", token: String = ProducerHarness.aircallToken, callID: Int = 812,
        recording: String? = "https://aircall-recordings.s3.amazonaws.com/812.mp3", voicemail: String? = nil
    ) -> String {
        func quoted(_ value: String?) -> String { value.map { "\"\($0)\"" } ?? "null" }
        return """
            {"resource": "call", "event": "\(event)", "timestamp": 1732622896, "token": "\(token)",
             "data": {"id": \(callID), "direct_link": "https://api.aircall.io/v1/calls/\(callID)", "direction": "inbound", "status": "done",
               "started_at": 1732622800, "answered_at": 1732622805, "ended_at": 1732622890, "duration": 90, "raw_digits": "+33 6 12 34 56 78",
               "user": {"id": 1, "name": "Grace"}, "number": {"id": 2, "name": "Front desk"},
               "recording": \(quoted(recording)), "recording_short_url": null, "voicemail": \(quoted(voicemail)), "voicemail_short_url": null}}
            """
    }

    static func guestyReservation(event: String = "reservation.new", id: String = "62a08097b8a1ab0037fd3feb") -> String {
        """
        {"event": "\(event)", "reservation": {"_id": "\(id)", "status": "confirmed", "checkIn": "2026-12-01T15:00:00.000Z",
         "checkOut": "2026-12-05T10:00:00.000Z", "confirmationCode": "GY-7Q2", "source": "airbnb2", "listingId": "L1",
         "guest": {"fullName": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000"},
         "listing": {"_id": "L1", "title": "Sea view loft"}, "integration": {"platform": "airbnb2"}}}
        """
    }
}
