import Foundation

/// Azure Speech over REST (docs/contracts.md §4): speech-to-text for short audio, fast transcription for
/// everything else (MP3 recordings, long voicemails, formats the short endpoint refuses), and
/// text-to-speech from SSML built with the text escaped. Authenticated with the resource key.
public struct AzureSpeechClient: Sendable {
    /// Where each API lives: the regional hosts, or one endpoint for all three (a container, a fake).
    public struct Hosts: Sendable, Equatable {
        public var speechToText: String
        public var transcription: String
        public var textToSpeech: String

        public static func region(_ region: String) -> Hosts {
            Hosts(
                speechToText: "https://\(region).stt.speech.microsoft.com",
                transcription: "https://\(region).api.cognitive.microsoft.com",
                textToSpeech: "https://\(region).tts.speech.microsoft.com")
        }

        public static func endpoint(_ url: String) -> Hosts {
            let base = url.hasSuffix("/") ? String(url.dropLast()) : url
            return Hosts(speechToText: base, transcription: base, textToSpeech: base)
        }
    }

    public let hosts: Hosts
    public let language: String
    public let voice: String
    public let outputFormat: String
    private let key: String
    private let userAgent: String
    private let http: HTTPClient

    public init(
        key: String, hosts: Hosts, http: HTTPClient, language: String = "en-US", voice: String = "en-US-JennyNeural",
        outputFormat: String = "ogg-24khz-16bit-mono-opus", userAgent: String = "switchboard"
    ) {
        self.key = key
        self.hosts = hosts
        self.http = http
        self.language = language
        self.voice = voice
        self.outputFormat = outputFormat
        self.userAgent = userAgent
    }

    /// The file extension of what `synthesize` returns in `outputFormat` (`ogg-24khz-16bit-mono-opus`
    /// → `ogg`, `audio-24khz-48kbitrate-mono-mp3` → `mp3`, `riff-…-pcm` → `wav`, `webm-…` → `webm`),
    /// or nil for a format a chat attachment cannot carry (raw PCM, telephony codecs).
    public static func fileExtension(ofOutputFormat format: String) -> String? {
        let name = format.lowercased()
        if name.hasPrefix("ogg-") { return "ogg" }
        if name.hasPrefix("webm-") { return "webm" }
        if name.hasPrefix("riff-") { return "wav" }
        if name.hasPrefix("audio-") && name.hasSuffix("-mp3") { return "mp3" }
        return nil
    }

    public struct Transcript: Sendable, Equatable {
        /// What was said; empty when nothing was recognised (silence, noise).
        public var text: String
        /// Which endpoint produced it: `short` or `fast`.
        public var endpoint: String
    }

    /// Transcribes audio, on the short-audio endpoint when it takes it (WAV 16 kHz mono PCM or
    /// OGG/Opus, about a minute at most), else by fast transcription; a short-audio 400 (a format
    /// or length it refuses) falls back to fast transcription.
    public func transcribe(_ audio: [UInt8], contentType: String, language: String? = nil) async throws -> Transcript {
        let locale = language ?? self.language
        if let shortType = AudioFormat.shortAudioContentType(audio) {
            do {
                return try await transcribeShort(audio, contentType: shortType, language: locale)
            } catch let failure as HTTPFailure where failure.status == 400 || failure.status == 415 {
                // Refused as too long or unsupported: the fast endpoint takes it.
            }
        }
        return try await transcribeFast(audio, contentType: contentType, language: locale)
    }

    func transcribeShort(_ audio: [UInt8], contentType: String, language: String) async throws -> Transcript {
        struct Answer: Decodable {
            var RecognitionStatus: String
            var DisplayText: String?
        }
        let url = hosts.speechToText + "/speech/recognition/conversation/cognitiveservices/v1?language=\(language)&format=simple"
        let request = HTTPClient.Request(
            "POST", url,
            headers: [
                ("Ocp-Apim-Subscription-Key", key), ("Content-Type", contentType), ("Accept", "application/json"),
            ], body: audio, timeout: .seconds(60), service: .azureSTT)
        let response = try await http.sendChecked(request)
        let answer = try ServiceJSON.decode(Answer.self, from: response, request: Transfer.describe(request))
        switch answer.RecognitionStatus {
        case "Success": return Transcript(text: answer.DisplayText ?? "", endpoint: "short")
        case "NoMatch", "InitialSilenceTimeout", "BabbleTimeout": return Transcript(text: "", endpoint: "short")
        default:
            throw HTTPFailure(
                kind: .status(503), request: Transfer.describe(request), detail: "RecognitionStatus \(answer.RecognitionStatus)")
        }
    }

    func transcribeFast(_ audio: [UInt8], contentType: String, language: String) async throws -> Transcript {
        struct Answer: Decodable {
            struct Phrase: Decodable { var text: String }
            var combinedPhrases: [Phrase]?
        }
        var form = MultipartFormBody()
        form.file(
            "audio", filename: "audio.\(AudioTypes.fileExtension(forContentType: contentType) ?? "bin")", contentType: contentType,
            data: audio)
        form.field("definition", #"{"locales":["\#(language)"]}"#)
        let url = hosts.transcription + "/speechtotext/transcriptions:transcribe?api-version=2024-11-15"
        let request = HTTPClient.Request(
            "POST", url,
            headers: [
                ("Ocp-Apim-Subscription-Key", key), ("Content-Type", form.contentType), ("Accept", "application/json"),
            ], body: form.body, timeout: .seconds(300), service: .azureSTT)
        let response = try await http.sendChecked(request)
        let answer = try ServiceJSON.decode(Answer.self, from: response, request: Transfer.describe(request))
        let text = (answer.combinedPhrases ?? []).map(\.text).joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines)
        return Transcript(text: text, endpoint: "fast")
    }

    /// Speaks `text` in the configured voice and output format; returns the audio bytes.
    public func synthesize(_ text: String, voice: String? = nil, language: String? = nil) async throws -> [UInt8] {
        let ssml = Self.ssml(text, voice: voice ?? self.voice, language: language ?? self.language)
        let request = HTTPClient.Request(
            "POST", hosts.textToSpeech + "/cognitiveservices/v1",
            headers: [
                ("Ocp-Apim-Subscription-Key", key), ("Content-Type", "application/ssml+xml"),
                ("X-Microsoft-OutputFormat", outputFormat), ("User-Agent", userAgent),
            ], body: Array(ssml.utf8), timeout: .seconds(60), maxResponseBytes: 32 << 20, service: .azureTTS)
        let response = try await http.sendChecked(request)
        guard !response.body.isEmpty else {
            throw HTTPFailure(kind: .unexpectedAnswer, request: Transfer.describe(request), detail: "no audio in the answer")
        }
        return response.body
    }

    /// The SSML document for `text`: every character XML gives meaning to is escaped, so a guest's
    /// `<`, `&` or quote can never change the document.
    static func ssml(_ text: String, voice: String, language: String) -> String {
        "<speak version='1.0' xml:lang='\(xml(language))'><voice xml:lang='\(xml(language))' name='\(xml(voice))'>\(xml(text))</voice></speak>"
    }

    static func xml(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // Control characters are not allowed in XML 1.0 at all.
                if let scalar = character.unicodeScalars.first, scalar.value < 0x20, !["\n", "\r", "\t"].contains(character) { continue }
                out.append(character)
            }
        }
        return out
    }
}

/// Telling audio formats apart by their first bytes, where the content type is not to be trusted.
enum AudioFormat {
    /// The short-audio endpoint's content type for this audio, or nil when it would refuse it:
    /// WAV must be 16 kHz mono 16-bit PCM and at most a minute; OGG must carry Opus and be small
    /// enough to be about a minute of speech.
    static func shortAudioContentType(_ audio: [UInt8]) -> String? {
        if audio.count > 44, audio.starts(with: Array("RIFF".utf8)), Array(audio[8..<12]) == Array("WAVE".utf8) {
            let format = UInt16(audio[20]) | UInt16(audio[21]) << 8
            let channels = UInt16(audio[22]) | UInt16(audio[23]) << 8
            let rate = UInt32(audio[24]) | UInt32(audio[25]) << 8 | UInt32(audio[26]) << 16 | UInt32(audio[27]) << 24
            let bits = UInt16(audio[34]) | UInt16(audio[35]) << 8
            guard format == 1, channels == 1, rate == 16_000, bits == 16, audio.count <= 44 + 60 * 32_000 else { return nil }
            return "audio/wav; codecs=audio/pcm; samplerate=16000"
        }
        if audio.starts(with: Array("OggS".utf8)), contains(Array("OpusHead".utf8), in: Array(audio.prefix(128))) {
            // Voice Opus runs at 16–32 kbit/s: 240 KB is about a minute at most.
            return audio.count <= 240 * 1024 ? "audio/ogg; codecs=opus" : nil
        }
        return nil
    }

    static func contains(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}
