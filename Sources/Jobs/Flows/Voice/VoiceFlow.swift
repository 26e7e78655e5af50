import Blobs
import Crypto
import Foundation
import Queue
import Services

/// A guest's voice message answered with a voice message: `transcribe` (fetch the audio from the
/// blob store or Chatwoot, speech-to-text) → the chat flow's `retrieve` and `generate` (the message
/// marked `reply_as_voice`) → `synthesize` (text-to-speech into the blob store) → `reply` (the audio
/// as an attachment with its text, so agents can read it). Stages hand off as in the chat flow; the
/// reply is posted once; a dead-lettered stage leaves a private note.
public enum VoiceFlow {
    public static let synthesizeKind = "voice.synthesize"
    public static let synthesizeQueue = "synthesize"
    public static let replyKind = "voice.reply"
    /// Its own queue: the voice reply reads audio from the blob store, which a chat reply does not.
    public static let replyQueue = "voice-reply"

    /// The voice flow's own stages; nil without speech and a blob store.
    public static func definitions(_ services: FlowServices) -> [JobDefinition] {
        guard let speech = services.speech, let blobs = services.blobs else { return [] }
        return [transcribe(services, speech, blobs), synthesize(services, speech, blobs), reply(services, blobs)].map {
            $0.givingUp(after: services.giveUpAfter)
        }
    }

    static func transcribe(_ services: FlowServices, _ speech: AzureSpeechClient, _ blobs: BlobStore) -> JobDefinition {
        JobDefinition(
            kind: Flows.voice.kind, queue: Flows.voice.queue, retry: Flows.voice.retry, timeout: .seconds(120), payload: VoiceMessage.self,
            onDeadLetter: { voice, error, redis in
                try await ChatFlow.tellAgents(services, redis, voice.accountID, voice.conversationID, error)
            }
        ) { voice, _ in
            let (audio, served) = try await fetch(voice.audio, services: services, blobs: blobs)
            // The attachment's own type, else what the download said it is (Chatwoot often leaves
            // the extension null), else Ogg, what Chatwoot's recorder makes.
            let contentType =
                voice.audio.contentType ?? served.flatMap(AudioTypes.fileExtension(forContentType:)).flatMap(
                    AudioTypes.contentType(forExtension:)) ?? "audio/ogg"
            let transcript = try await speech.transcribe(audio, contentType: contentType)
            guard !transcript.text.isEmpty else {
                throw JobFailure.permanent("nothing intelligible in the voice message (\(audio.count) bytes, \(contentType))")
            }
            let question = [voice.caption, transcript.text].compactMap { $0 }.joined(separator: "\n")
            let message = ChatMessage(
                accountID: voice.accountID, conversationID: voice.conversationID, inboxID: nil,
                messageID: voice.messageID ?? syntheticMessageID(voice.audio), content: question,
                senderID: nil, senderName: nil, replyAsVoice: true)
            return .next(
                try ChatFlow.next(
                    Flows.chat.kind, queue: Flows.chat.queue, message, message: message, flow: Flows.voice, budgets: services.budgets))
        }
    }

    static func synthesize(_ services: FlowServices, _ speech: AzureSpeechClient, _ blobs: BlobStore) -> JobDefinition {
        JobDefinition(
            kind: synthesizeKind, queue: synthesizeQueue, retry: Flows.voice.retry, timeout: .seconds(60), payload: ChatAnswer.self,
            onDeadLetter: { answer, error, redis in
                try await ChatFlow.tellAgents(services, redis, answer.accountID, answer.conversationID, error)
            }
        ) { answer, _ in
            let audio = try await speech.synthesize(answer.content)
            // One blob per answered message: a synthesize stage that runs again replaces it.
            let fileExtension = AzureSpeechClient.fileExtension(ofOutputFormat: speech.outputFormat) ?? "ogg"
            let blob = try blobs.create(
                folder: "answers", name: "\(answer.accountID)-\(answer.conversationID)-\(answer.messageID).\(fileExtension)")
            try await blob.append(audio)
            try await blob.commit()
            let spoken = SpokenAnswer(
                answer: answer,
                audio: AudioSource(
                    blob: blob.reference, contentType: AudioTypes.contentType(forExtension: fileExtension),
                    byteCount: audio.count))
            let message = ChatMessage(
                accountID: answer.accountID, conversationID: answer.conversationID, inboxID: nil,
                messageID: answer.messageID, content: "", senderID: nil, senderName: nil)
            return .next(
                try ChatFlow.next(replyKind, queue: replyQueue, spoken, message: message, flow: Flows.voice, budgets: services.budgets))
        }
    }

    static func reply(_ services: FlowServices, _ blobs: BlobStore) -> JobDefinition {
        JobDefinition(
            kind: replyKind, queue: replyQueue, retry: Flows.voice.retry, timeout: .seconds(60), payload: SpokenAnswer.self,
            onDeadLetter: { spoken, error, redis in
                try await ChatFlow.tellAgents(services, redis, spoken.answer.accountID, spoken.answer.conversationID, error)
            }
        ) { spoken, context in
            let answer = spoken.answer
            guard try await ChatFlow.stillTheAssistantsTurn(services, context, answer) else { return .done }
            let (audio, _) = try await fetch(spoken.audio, services: services, blobs: blobs)
            try await ReplyOnce.reply(
                services, context, account: answer.accountID, conversation: answer.conversationID, message: answer.messageID,
                content: answer.content
            ) {
                try await services.chatwoot.postAudio(
                    account: answer.accountID, conversation: answer.conversationID, content: answer.content,
                    audio: audio, filename: "answer." + (spoken.audio.blob?.split(separator: ".").last.map(String.init) ?? "ogg"),
                    contentType: spoken.audio.contentType ?? "audio/ogg"
                ).id
            }
            await AssistantMetrics.count(ChatFlow.answered(answer), audience: answer.audience, redis: context.redis, keys: services.keys)
            return .done
        }
    }

    /// The audio's bytes: from the blob store, or downloaded (a Chatwoot attachment's URL).
    /// The audio's bytes and, for a download, the Content-Type it was served with.
    static func fetch(_ source: AudioSource, services: FlowServices, blobs: BlobStore) async throws -> (
        bytes: [UInt8], contentType: String?
    ) {
        if let blob = source.blob { return (try await BlobAccess.read(blobs, blob), nil) }
        guard let url = source.url, let http = services.http else { throw JobFailure.permanent("the voice message carries no audio") }
        let response = try await http.sendChecked(HTTPClient.Request("GET", url, timeout: .seconds(60), maxResponseBytes: 25 << 20))
        return (response.body, response.header("Content-Type"))
    }

    /// A stable stand-in for the Chatwoot message id of a direct upload (it has none): the reply
    /// markers and dedupe keys need one per voice message.
    static func syntheticMessageID(_ source: AudioSource) -> Int {
        let digest = SHA256.hash(data: Array((source.blob ?? source.url ?? "").utf8))
        let value = digest.prefix(7).reduce(0) { $0 << 8 | Int($1) }
        return -max(value, 1)
    }
}

/// An answer and its spoken form: the voice reply stage's payload.
public struct SpokenAnswer: Codable, Sendable, Equatable {
    public var answer: ChatAnswer
    public var audio: AudioSource
}
