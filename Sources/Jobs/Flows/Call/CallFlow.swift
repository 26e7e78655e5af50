import Blobs
import Foundation
import Queue
import Services

/// An Aircall call becomes knowledge: `download` (the recording or voicemail, into the blob store
/// at once — its URL lives an hour) → `transcribe` (speech-to-text) → `vectorize` (the transcript in
/// pieces, with the call's facts, into the account's knowledge as private points) → `note` (when
/// the caller is a Chatwoot contact, the transcript as a private note on their latest
/// conversation, posted once).
///
/// The note runs on the `triage` queue with the booking flow's triage: both write what agents see
/// about calls and bookings, and need the same settings.
///
/// Stages hand off atomically with their acknowledgement, deduplicated per (call, audio, stage);
/// the recording's blob is named after the call, so a download that runs again overwrites it.
/// Long retry budgets: nothing here is interactive, and everything must eventually be indexed.
public enum CallFlow {
    public static let transcribeKind = "call.transcribe"
    /// Not the voice flow's queue: an hour-long recording must not hold up a guest's voice message.
    public static let transcribeQueue = "call-transcribe"
    public static let vectorizeKind = "call.vectorize"
    public static let vectorizeQueue = "vectorize"
    public static let noteKind = "call.note"

    /// The stages this process can run: indexing and the note need the account; downloading and
    /// transcribing also need speech and the blob store.
    public static func definitions(_ services: FlowServices) -> [JobDefinition] {
        guard let account = services.account else { return [] }
        var stages = [vectorize(services, account), note(services, account)]
        if let speech = services.speech, let blobs = services.blobs, let http = services.http {
            stages += [download(http, blobs, budgets: services.budgets), transcribe(speech, blobs, budgets: services.budgets)]
        }
        return stages
    }

    static func download(_ http: HTTPClient, _ blobs: BlobStore, budgets: RetryBudgets) -> JobDefinition {
        JobDefinition(
            kind: Flows.call.kind, queue: Flows.call.queue, retry: Flows.call.retry, timeout: .seconds(300), payload: CallRecording.self
        ) { call, _ in
            // Aircall serves MP3 (a CDN may label it application/octet-stream); the name is fixed
            // per call, so a rerun overwrites its own blob.
            let blob = try blobs.create(folder: "calls", name: "\(call.callID)-\(call.source).mp3")
            // Streamed from Aircall into the blob store as it arrives: a recording of any length
            // holds a few MiB of memory, never the whole file.
            let limit = 200 << 20
            let response: HTTPClient.Response
            do {
                response = try await http.download(
                    HTTPClient.Request("GET", call.recordingURL, timeout: .seconds(240), maxResponseBytes: 64 << 10)
                ) { piece in
                    guard blob.byteCount + piece.count <= limit else {
                        throw JobFailure.permanent("the \(call.source) of call \(call.callID) is over \(limit >> 20) MiB")
                    }
                    try await blob.append(piece)
                }
            } catch {
                await blob.cancel()
                throw error
            }
            guard blob.byteCount > 0 else {
                await blob.cancel()
                throw JobFailure.retryable("the \(call.source) of call \(call.callID) came back empty")
            }
            try await blob.commit()
            let served = response.header("Content-Type").flatMap(AudioTypes.fileExtension(forContentType:)).flatMap(
                AudioTypes.contentType(forExtension:))
            let audio = CallAudio(
                call: call, audio: AudioSource(blob: blob.reference, contentType: served ?? "audio/mpeg", byteCount: blob.byteCount))
            return .next(try next(transcribeKind, queue: transcribeQueue, audio, call: call, budgets: budgets))
        }
    }

    static func transcribe(_ speech: AzureSpeechClient, _ blobs: BlobStore, budgets: RetryBudgets) -> JobDefinition {
        JobDefinition(
            kind: transcribeKind, queue: transcribeQueue, retry: Flows.call.retry, timeout: .seconds(300), payload: CallAudio.self
        ) { item, context in
            guard let reference = item.audio.blob else {
                throw JobFailure.permanent("call \(item.call.callID): no recording in the blob store")
            }
            let audio = try await BlobAccess.read(blobs, reference)
            let transcript = try await speech.transcribe(audio, contentType: item.audio.contentType ?? "audio/mpeg")
            guard !transcript.text.isEmpty else {
                context.logger.notice("nothing intelligible in the call; not indexed", metadata: ["aircall.call": "\(item.call.callID)"])
                return .done
            }
            return .next(
                try next(
                    vectorizeKind, queue: vectorizeQueue, CallTranscript(call: item.call, text: transcript.text), call: item.call,
                    budgets: budgets))
        }
    }

    static func vectorize(_ services: FlowServices, _ account: Int) -> JobDefinition {
        JobDefinition(
            kind: vectorizeKind, queue: vectorizeQueue, retry: Flows.call.retry, timeout: .seconds(120), payload: CallTranscript.self
        ) { item, _ in
            let call = item.call
            var facts: [String: JSONValue] = ["source": .string("call"), "call_id": .integer(call.callID), "audio": .string(call.source)]
            facts["direction"] = call.direction.map(JSONValue.string)
            facts["caller"] = call.rawDigits.map(JSONValue.string)
            // Whose call it is, as an agent's question about this guest finds it (and no one else's).
            facts["guest_keys"] = .array(ReservationIndex.contacts(phone: call.rawDigits, email: nil).map(JSONValue.string))
            facts["started_at"] = call.startedAt.map(JSONValue.integer)
            facts["duration"] = call.duration.map(JSONValue.integer)
            facts["agent"] = call.agentName.map(JSONValue.string)
            facts["line"] = call.lineName.map(JSONValue.string)
            try await KnowledgeIndex.write(
                services, account: account, source: "aircall:call:\(call.callID):\(call.source)",
                texts: TextChunks.split(item.text), payload: facts)
            guard call.rawDigits != nil else { return .done }
            return .next(try next(noteKind, queue: BookingFlow.triageQueue, item, call: call, budgets: services.budgets))
        }
    }

    static func note(_ services: FlowServices, _ account: Int) -> JobDefinition {
        JobDefinition(
            kind: noteKind, queue: BookingFlow.triageQueue, retry: Flows.call.retry, timeout: .seconds(60), payload: CallTranscript.self
        ) { item, context in
            let call = item.call
            let contact = try await GuestConversation.contact(services.chatwoot, account: account, phone: call.rawDigits, email: nil)
            guard let contact, let conversation = try await GuestConversation.latest(services.chatwoot, account: account, contact: contact)
            else {
                context.logger.info(
                    "the caller is no Chatwoot contact with a conversation; no note", metadata: ["aircall.call": "\(call.callID)"])
                return .done
            }
            // The caller's number, as Aircall saw it, reached this conversation: an agent's
            // `@assistant` note may look the guest up by it.
            if let digits = call.rawDigits.flatMap(GuestConversation.digits) {
                try await VerifiedGuest.record(
                    [VerifiedGuest(key: "phone:\(digits)", source: "the caller's number of Aircall call \(call.callID)")],
                    pool: context.redis, keys: services.keys, account: account, conversation: conversation)
                try await KnownContacts.record(
                    pool: context.redis, keys: services.keys, account: account, contact: contact, identities: ["phone:\(digits)"],
                    conversation: conversation)
            }
            let note = ReplyOnce.Post(
                marker: "note:call:\(call.callID):\(call.source)", what: "the note of call \(call.callID)",
                account: account, conversation: conversation, content: noteText(item), isPrivate: true)
            try await ReplyOnce.once(services, context, note) {
                try await services.chatwoot.postMessage(
                    account: account, conversation: conversation, content: note.content, isPrivate: true
                ).id
            }
            return .done
        }
    }

    /// The note agents read: what kind of call, when, who took it, then the transcript (cut to a
    /// length Chatwoot accepts).
    static func noteText(_ item: CallTranscript) -> String {
        let call = item.call
        var heading = call.source == "voicemail" ? "Voicemail" : (call.direction == "outbound" ? "Outbound call" : "Inbound call")
        // Aircall's numbers as they came: only a time a calendar can hold is shown as a date.
        if let started = call.startedAt, (0...4_102_444_800).contains(started) {
            heading += " on " + UTCTime.minute(Date(timeIntervalSince1970: TimeInterval(started))) + " UTC"
        }
        if let duration = call.duration, duration >= 0 { heading += ", \(duration / 60) min \(duration % 60) s" }
        if let agent = call.agentName { heading += ", taken by \(agent)" }
        if let line = call.lineName { heading += " on \(line)" }
        let limit = 20_000
        let text = item.text.count > limit ? String(item.text.prefix(limit)) + " […]" : item.text
        return "\(heading) (Aircall call \(call.callID)), transcribed:\n\n\(text)"
    }

    static func next<Payload: Encodable>(_ kind: String, queue: String, _ payload: Payload, call: CallRecording, budgets: RetryBudgets)
        throws -> JobRequest
    {
        try Flows.call.stage(kind, queue: queue).request(payload, dedupe: "call:\(call.callID):\(call.source):\(kind)", budgets: budgets)
    }
}

/// A call's recording in the blob store: the transcribe stage's payload.
public struct CallAudio: Codable, Sendable, Equatable {
    public var call: CallRecording
    public var audio: AudioSource
}

/// A call's transcript: the vectorize and note stages' payload.
public struct CallTranscript: Codable, Sendable, Equatable {
    public var call: CallRecording
    public var text: String
}
