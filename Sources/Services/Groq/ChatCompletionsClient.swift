import Foundation

/// OpenAI-compatible chat completions (Groq, docs/contracts.md §5): the model is configuration, and the
/// answer handed back is only what a guest may read — a reasoning model's thinking (`<think>…</think>`
/// in the content, or a separate `reasoning` field) is removed. A decommissioned model is a 400,
/// hence permanent: a retry cannot bring it back.
public struct ChatCompletionsClient: Sendable {
    public let baseURL: String
    public let model: String
    private let apiKey: String
    private let http: HTTPClient
    private let timeout: Duration

    public init(
        baseURL: String = "https://api.groq.com/openai/v1", apiKey: String, model: String, http: HTTPClient,
        timeout: Duration = .seconds(60)
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.model = model
        self.http = http
        self.timeout = timeout
    }

    public struct Message: Codable, Sendable, Equatable {
        public var role: String
        public var content: String

        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }

        public static func system(_ text: String) -> Message { Message(role: "system", content: text) }
        public static func user(_ text: String) -> Message { Message(role: "user", content: text) }
        public static func assistant(_ text: String) -> Message { Message(role: "assistant", content: text) }
    }

    public struct Completion: Sendable {
        /// The answer, without any reasoning.
        public var text: String
        public var model: String
        public var promptTokens: Int?
        public var completionTokens: Int?
    }

    public func complete(_ messages: [Message], temperature: Double = 0.3, maxTokens: Int = 1024) async throws -> Completion {
        struct Body: Encodable {
            var model: String
            var messages: [Message]
            var temperature: Double
            var max_tokens: Int
            var stream = false
        }
        struct Answer: Decodable {
            struct Choice: Decodable {
                struct Said: Decodable { var content: String? }
                var message: Said
            }
            struct Usage: Decodable { var prompt_tokens: Int?; var completion_tokens: Int? }
            var model: String?
            var choices: [Choice]
            var usage: Usage?
        }
        let request = HTTPClient.Request(
            "POST", baseURL + "/chat/completions",
            headers: [("Authorization", "Bearer \(apiKey)"), ("Content-Type", "application/json")],
            body: try ServiceJSON.body(Body(model: model, messages: messages, temperature: temperature, max_tokens: maxTokens)),
            timeout: timeout, service: .groq)
        let response = try await http.sendChecked(request)
        let answer = try ServiceJSON.decode(Answer.self, from: response, request: Transfer.describe(request))
        let text = Self.withoutReasoning(answer.choices.first?.message.content ?? "")
        guard !text.isEmpty else {
            throw HTTPFailure(kind: .unexpectedAnswer, request: Transfer.describe(request), detail: "the completion has no answer text")
        }
        return Completion(
            text: text, model: answer.model ?? model, promptTokens: answer.usage?.prompt_tokens,
            completionTokens: answer.usage?.completion_tokens)
    }

    /// The content with every `<think>…</think>` block removed (an unclosed one drops the rest).
    static func withoutReasoning(_ content: String) -> String {
        var text = Substring(content)
        var kept = ""
        while let open = text.range(of: "<think>") {
            kept += text[..<open.lowerBound]
            guard let close = text[open.upperBound...].range(of: "</think>") else { text = ""; break }
            text = text[close.upperBound...]
        }
        kept += text
        return kept.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
