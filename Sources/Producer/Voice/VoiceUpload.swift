import Blobs
import HTTPTypes
import Hummingbird
import Jobs
import NIOCore
import Services

/// `POST /voice`: a voice message uploaded directly, for a Chatwoot account and conversation,
/// as a raw audio body (`Content-Type: audio/ogg`, …; account and conversation in the query) or
/// as `multipart/form-data` (fields `account_id`, `conversation_id`, optional `caption`, and one
/// audio file part). A bearer token authenticates it.
///
/// The audio goes to the blob store — a raw body is streamed there as it arrives, so memory stays
/// flat whatever its size — and the job carries only the reference. An `Idempotency-Key` header
/// makes a repeated upload one job.
struct VoiceUpload: Sendable {
    let token: SecretToken
    let blobs: BlobStore
    let limit: Int

    /// The stored audio and where it goes, ready to become a job; `discard()` removes the blob
    /// again when no job can reference it.
    struct Stored {
        var message: VoiceMessage
        var dedupe: String?
        let blob: BlobWriter

        func discard() async { await blob.discard() }
    }

    func authorized(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return false }
        return token.matches(header.dropFirst(7).trimmingCharacters(in: .whitespaces))
    }

    func store(_ request: Request) async throws -> Stored {
        let dedupe = request.headers[HTTPField.Name("Idempotency-Key")!].map { "voice:\($0)" }
        guard let type = RequestBody.mediaType(request) else {
            throw BodyRefusal.unsupportedType(expected: "audio/* or multipart/form-data")
        }
        if type == "multipart/form-data" {
            return try await storeMultipart(request, dedupe: dedupe)
        }
        guard let fileExtension = AudioTypes.fileExtension(forContentType: type) else {
            throw BodyRefusal.unsupportedType(
                expected: "audio/* (\(AudioTypes.extensions.keys.sorted().joined(separator: ", "))) or multipart/form-data")
        }
        let query = request.uri.queryParameters
        let account = try Self.identifier(query["account_id"].map(String.init), "account_id")
        let conversation = try Self.identifier(query["conversation_id"].map(String.init), "conversation_id")
        if let length = RequestBody.declaredLength(request), length > limit { throw BodyRefusal.tooLarge(limit: limit) }
        let blob = try blobs.create(folder: "voice", fileExtension: fileExtension, owner: "\(account)-\(conversation)")
        do {
            try await RequestBody.stream(request, limit: limit) { piece in try await blob.append(piece.readableBytesView) }
        } catch {
            await blob.cancel()
            throw error
        }
        guard blob.byteCount > 0 else {
            await blob.cancel()
            throw MalformedBody(message: "the audio body is empty", field: nil)
        }
        try await blob.commit()
        let audio = AudioSource(
            blob: blob.reference, contentType: AudioTypes.contentType(forExtension: fileExtension), byteCount: blob.byteCount)
        let caption = query["caption"].map(String.init)
        return Stored(
            message: VoiceMessage(accountID: account, conversationID: conversation, messageID: nil, audio: audio, caption: caption),
            dedupe: dedupe, blob: blob)
    }

    private func storeMultipart(_ request: Request, dedupe: String?) async throws -> Stored {
        guard let boundary = RequestBody.contentTypeParameter(request, "boundary") else {
            throw MalformedBody(message: "multipart/form-data without a boundary", field: nil)
        }
        // The form's text fields are small; allow them a little room beside the audio.
        let body = try await RequestBody.collect(request, limit: limit + 64 * 1024)
        let form = try MultipartForm(body: body, boundary: boundary)
        let query = request.uri.queryParameters
        let account = try Self.identifier(form.field("account_id") ?? query["account_id"].map(String.init), "account_id")
        let conversation = try Self.identifier(
            form.field("conversation_id") ?? query["conversation_id"].map(String.init), "conversation_id")
        guard let part = form.parts.first(where: { $0.filename != nil || $0.contentType?.hasPrefix("audio/") == true }) else {
            throw MalformedBody.missing("audio")
        }
        let fileExtension =
            part.contentType.flatMap(AudioTypes.fileExtension(forContentType:))
            ?? part.filename.flatMap { name in name.split(separator: ".").last.map(String.init) }.flatMap {
                AudioTypes.contentType(forExtension: $0) != nil ? $0.lowercased() : nil
            }
        guard let fileExtension else {
            throw BodyRefusal.unsupportedType(expected: "an audio part (audio/ogg, audio/mpeg, audio/wav, …)")
        }
        guard !part.body.isEmpty else { throw MalformedBody(message: "the audio part is empty", field: "audio") }
        guard part.body.count <= limit else { throw BodyRefusal.tooLarge(limit: limit) }
        let blob = try blobs.create(folder: "voice", fileExtension: fileExtension, owner: "\(account)-\(conversation)")
        try await blob.append(part.body)
        try await blob.commit()
        let audio = AudioSource(
            blob: blob.reference, contentType: AudioTypes.contentType(forExtension: fileExtension), byteCount: blob.byteCount)
        let message = VoiceMessage(
            accountID: account, conversationID: conversation, messageID: nil, audio: audio, caption: form.field("caption"))
        return Stored(message: message, dedupe: dedupe, blob: blob)
    }

    static func identifier(_ value: String?, _ field: String) throws(MalformedBody) -> Int {
        guard let value else { throw .missing(field) }
        guard let number = Int(value), number > 0 else { throw .invalid(field, "a positive integer") }
        return number
    }
}
