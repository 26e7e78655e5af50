import Foundation
import Hummingbird

extension FakeService {
    /// Azure Speech as the flows call it: short-audio recognition hears `heard`, fast
    /// transcription (a call's recording) gives `transcribed`, synthesis answers some OGG bytes.
    public static func azureSpeech(
        heard: String, transcribed: String, delay: Duration = .zero,
        host: String = "127.0.0.1", port: Int = 0
    ) async throws -> FakeService {
        try await FakeService(delay: delay, host: host, port: port) { received in
            switch received.path {
            case "/speech/recognition/conversation/cognitiveservices/v1":
                FakeService.answer(.ok, #"{"RecognitionStatus":"Success","DisplayText":"\#(heard)"}"#)
            case "/speechtotext/transcriptions:transcribe":
                FakeService.answer(.ok, #"{"combinedPhrases":[{"text":"\#(transcribed)"}]}"#)
            default:
                FakeService.answer(.ok, "OggS-spoken-answer")
            }
        }
    }

    /// An OpenAI-compatible chat model that answers every question with `answer`.
    public static func chatModel(answer: String, delay: Duration = .zero, host: String = "127.0.0.1", port: Int = 0) async throws
        -> FakeService
    {
        try await FakeService(delay: delay, host: host, port: port) { _ in
            FakeService.answer(
                .ok,
                #"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"\#(answer)"},"finish_reason":"stop"}]}"#
            )
        }
    }
}
