import Foundation
import HTTPTypes
import Hummingbird
import TestSupport
import Testing

@testable import Services

/// Azure Speech against a fake that checks each endpoint's contract: key header, required query
/// parameters, exact content types, the multipart parts of fast transcription, SSML and User-Agent.
@Suite struct AzureSpeechClientTests {
    /// A 16 kHz mono 16-bit PCM WAV of `seconds` of silence.
    static func wav(seconds: Double) -> [UInt8] {
        let samples = Int(16_000 * seconds)
        func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        func le16(_ value: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        var bytes = Array("RIFF".utf8) + le32(36 + samples * 2) + Array("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(1)
        bytes += le32(16_000) + le32(32_000) + le16(2) + le16(16) + Array("data".utf8) + le32(samples * 2)
        return bytes + [UInt8](repeating: 0, count: samples * 2)
    }

    /// The first page of an Ogg/Opus stream, then filler.
    static let opus: [UInt8] =
        Array("OggS".utf8) + [0, 2] + [UInt8](repeating: 0, count: 22) + Array("OpusHead".utf8) + [UInt8](repeating: 7, count: 4000)
    static let mp3: [UInt8] = Array("ID3".utf8) + [UInt8](repeating: 0x55, count: 6000)

    static func fake(rejectShort: Bool = false) async throws -> FakeService {
        try await FakeService { received in
            guard received.headers["ocp-apim-subscription-key"] == "az-key" else { return FakeService.answer(.unauthorized) }
            switch received.path {
            case "/speech/recognition/conversation/cognitiveservices/v1":
                guard received.query.contains("language=en-US") else { return FakeService.answer(.badRequest, "language is required") }
                let type = received.headers["content-type"] ?? ""
                guard type == "audio/wav; codecs=audio/pcm; samplerate=16000" || type == "audio/ogg; codecs=opus" else {
                    return FakeService.answer(.unsupportedMediaType)
                }
                if rejectShort { return FakeService.answer(.badRequest, "audio too long") }
                return FakeService.answer(
                    .ok, #"{"RecognitionStatus":"Success","DisplayText":"Is the pool heated?","Offset":"1000000","Duration":"20000000"}"#)
            case "/speechtotext/transcriptions:transcribe":
                guard received.query == "api-version=2024-11-15" else { return FakeService.answer(.badRequest, "api-version") }
                let parts = multipartParts(received.body, contentType: received.headers["content-type"] ?? "")
                let definition = parts.first { $0.headers["content-disposition"]?.contains("name=\"definition\"") == true }
                let audio = parts.first { $0.headers["content-disposition"]?.contains("name=\"audio\"") == true }
                guard let definition, jsonFields(definition.body)["locales"] as? [String] == ["en-US"], let audio, !audio.body.isEmpty
                else {
                    return FakeService.answer(.badRequest, "definition and audio parts required")
                }
                return FakeService.answer(
                    .ok,
                    #"{"durationMilliseconds": 91000, "combinedPhrases": [{"text": "Hello, this is Grace from the front desk."}], "phrases": []}"#
                )
            case "/cognitiveservices/v1":
                guard received.headers["content-type"] == "application/ssml+xml", received.headers["user-agent"] == "switchboard-test",
                    received.headers["x-microsoft-outputformat"] == "ogg-24khz-16bit-mono-opus"
                else { return FakeService.answer(.badRequest) }
                return FakeService.answer(.ok, "OggS-synthesized:" + received.text)
            default:
                return FakeService.answer(.notFound)
            }
        }
    }

    static func client(_ fake: FakeService) -> AzureSpeechClient {
        AzureSpeechClient(key: "az-key", hosts: .endpoint(fake.url), http: HTTPClient(), userAgent: "switchboard-test")
    }

    @Test func shortWAVAndOpusGoToTheShortAudioEndpoint() async throws {
        let fake = try await Self.fake()
        let client = Self.client(fake)
        #expect(
            try await client.transcribe(Self.wav(seconds: 2), contentType: "audio/wav")
                == .init(text: "Is the pool heated?", endpoint: "short"))
        #expect(try await client.transcribe(Self.opus, contentType: "audio/ogg").endpoint == "short")
        #expect(
            fake.requests.map { $0.headers["content-type"] } == ["audio/wav; codecs=audio/pcm; samplerate=16000", "audio/ogg; codecs=opus"])
    }

    @Test func mp3AndLongAudioGoToFastTranscription() async throws {
        let fake = try await Self.fake()
        let client = Self.client(fake)
        let recording = try await client.transcribe(Self.mp3, contentType: "audio/mpeg")
        #expect(recording == .init(text: "Hello, this is Grace from the front desk.", endpoint: "fast"))
        #expect(try await client.transcribe(Self.wav(seconds: 61), contentType: "audio/wav").endpoint == "fast")
        let parts = multipartParts(fake.requests[0].body, contentType: fake.requests[0].headers["content-type"] ?? "")
        let audio = try #require(parts.first { $0.headers["content-disposition"]?.contains("name=\"audio\"") == true })
        #expect(audio.body == Self.mp3 && audio.headers["content-type"] == "audio/mpeg")
        #expect(audio.headers["content-disposition"]?.contains("filename=\"audio.mp3\"") == true)
    }

    @Test func aShortAudioRefusalFallsBackToFastTranscription() async throws {
        let fake = try await Self.fake(rejectShort: true)
        #expect(try await Self.client(fake).transcribe(Self.opus, contentType: "audio/ogg").endpoint == "fast")
        #expect(
            fake.requests.map(\.path) == [
                "/speech/recognition/conversation/cognitiveservices/v1", "/speechtotext/transcriptions:transcribe",
            ])
    }

    @Test func synthesisSendsEscapedSSMLAndReturnsTheAudio() async throws {
        let fake = try await Self.fake()
        let audio = try await Self.client(fake).synthesize(#"Check-in is at 3 <b>pm</b> & "late" is fine"#)
        let ssml = try #require(fake.requests.first).text
        #expect(
            ssml
                == "<speak version='1.0' xml:lang='en-US'><voice xml:lang='en-US' name='en-US-JennyNeural'>Check-in is at 3 &lt;b&gt;pm&lt;/b&gt; &amp; &quot;late&quot; is fine</voice></speak>"
        )
        #expect(String(decoding: audio, as: UTF8.self).hasPrefix("OggS-synthesized:"))
    }

    @Test func aWrongKeyIsPermanent() async throws {
        let fake = try await Self.fake()
        let client = AzureSpeechClient(key: "wrong", hosts: .endpoint(fake.url), http: HTTPClient())
        await #expect { try await client.synthesize("hi") } throws: {
            ($0 as? HTTPFailure)?.status == 401 && ($0 as? HTTPFailure)?.isRetryable == false
        }
    }

    @Test func regionalHostsFollowTheDocumentedNames() {
        #expect(
            AzureSpeechClient.Hosts.region("westeurope")
                == .init(
                    speechToText: "https://westeurope.stt.speech.microsoft.com",
                    transcription: "https://westeurope.api.cognitive.microsoft.com",
                    textToSpeech: "https://westeurope.tts.speech.microsoft.com"))
    }
}
