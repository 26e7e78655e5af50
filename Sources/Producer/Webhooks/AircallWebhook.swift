import Foundation
import Jobs

/// `POST /webhooks/aircall`: Aircall's call events (docs/contracts.md §2).
///
/// Aircall signs nothing: the body's `token` is compared in constant time with the webhook's token.
/// `call.ended` and `call.voicemail_left` carrying a recording or voicemail URL start the call flow;
/// every other event is acknowledged and dropped. The dedupe key is the call id and which audio it
/// carries, so Aircall's retries — and a `call.ended` that repeats the voicemail an earlier
/// `call.voicemail_left` announced — make one job.
public struct AircallWebhook: Sendable {
    let check: AircallTokenCheck

    public init(token: String) {
        check = AircallTokenCheck(token: token)
    }

    public static let startingEvents: Set<String> = ["call.ended", "call.voicemail_left"]

    public func delivery(body: [UInt8]) throws -> Delivery {
        // Authenticate before validating: whatever is wrong with the body, a sender without the
        // token learns nothing of its schema but a bare 401.
        try check.verify(bodyToken: (try? WebhookJSON.decoder.decode(TokenOnly.self, from: Data(body)))?.token)
        let event = try WebhookJSON.decode(Event.self, from: body)
        let name = try event.event.required("event")
        guard Self.startingEvents.contains(name) else { return .ignore(reason: "event \(name) starts no work") }
        let call = try event.data.required("data")
        let id = try call.id.positive("data.id")
        let audio: (url: String, source: String)?
        if name == "call.voicemail_left" {
            audio = (call.voicemail ?? call.voicemailShortURL).map { ($0, "voicemail") }
        } else {
            audio =
                (call.recording ?? call.recordingShortURL).map { ($0, "recording") }
                ?? (call.voicemail ?? call.voicemailShortURL).map { ($0, "voicemail") }
        }
        guard let audio else { return .ignore(reason: "call \(id) has no recording or voicemail") }
        _ = try audio.url.webURL("data.\(audio.source)")
        let recording = CallRecording(
            event: name, callID: id, recordingURL: audio.url, source: audio.source, direction: call.direction,
            rawDigits: call.rawDigits, startedAt: call.startedAt, endedAt: call.endedAt, duration: call.duration,
            agentName: call.user?.name, lineName: call.number?.name)
        let dedupe = "aircall:call:\(id):\(audio.source)"
        return .start(try Flows.call.request(recording, dedupe: dedupe), dedupe: dedupe)
    }

    /// The body's token, read apart from the rest so a malformed body still authenticates first.
    struct TokenOnly: Decodable {
        var token: String?
    }

    struct Event: Decodable {
        var event: String?
        var data: Call?
    }

    struct Call: Decodable {
        var id: Int?
        var direction: String?
        var rawDigits: String?
        var startedAt: Int?
        var endedAt: Int?
        var duration: Int?
        var recording: String?
        var recordingShortURL: String?
        var voicemail: String?
        var voicemailShortURL: String?
        var user: Named?
        var number: Named?

        enum CodingKeys: String, CodingKey {
            case id, direction
            case rawDigits = "raw_digits"
            case startedAt = "started_at"
            case endedAt = "ended_at"
            case duration
            case recording
            case recordingShortURL = "recording_short_url"
            case voicemail
            case voicemailShortURL = "voicemail_short_url"
            case user, number
        }
    }

    struct Named: Decodable {
        var name: String?
    }
}
