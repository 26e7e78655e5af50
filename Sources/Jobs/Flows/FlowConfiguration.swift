import Queue
import Services

/// Which settings the flows need and how they become `FlowServices`. A consumer whose queues take
/// no flow needs none of them; one that does fails at start-up naming the first missing setting.
public enum FlowConfiguration {
    /// The queues whose jobs need the flow's services.
    public static let chatQueues: Set<String> = [Flows.chat.queue, ChatFlow.generateQueue, ChatFlow.replyQueue]

    /// Every setting of the chat flow, and whether it must be set (the others have defaults or are
    /// optional, like a key for a local embeddings server). Each may also come from `NAME_FILE`.
    public static let chatSettings: [(name: String, required: Bool)] = [
        ("EMBEDDINGS_URL", true), ("EMBEDDINGS_MODEL", true), ("EMBEDDINGS_API_KEY", false),
        ("QDRANT_URL", true), ("QDRANT_COLLECTION", true), ("QDRANT_API_KEY", false),
        ("GROQ_API_KEY", true), ("GROQ_MODEL", false), ("GROQ_BASE_URL", false),
        ("CHATWOOT_URL", true), ("CHATWOOT_API_TOKEN", true), ("SYSTEM_PROMPT", true),
    ]

    /// The chat flow's services, or nil when none of its required settings is set and `required`
    /// is false. Throws, naming the setting, when the flow is wanted but a required setting is missing.
    public static func chatServices(required: Bool, keys: Keys, http makeHTTP: @autoclosure () -> HTTPClient,
                                    setting: (String) throws -> String?) throws -> FlowServices? {
        var values: [String: String] = [:]
        for (name, _) in chatSettings { values[name] = try setting(name) }
        let missing = chatSettings.filter { $0.required && values[$0.name] == nil }.map(\.name)
        if missing.count == chatSettings.filter(\.required).count && !required { return nil }
        if let first = missing.first {
            throw FlowConfigurationError("the chat flow needs \(first) (or \(first)_FILE)" + (missing.count > 1 ? "; also missing: \(missing.dropFirst().joined(separator: ", "))" : ""))
        }
        let http = makeHTTP()
        return FlowServices(
            embeddings: EmbeddingsClient(baseURL: values["EMBEDDINGS_URL"]!, apiKey: values["EMBEDDINGS_API_KEY"], model: values["EMBEDDINGS_MODEL"]!, http: http),
            qdrant: QdrantClient(baseURL: values["QDRANT_URL"]!, apiKey: values["QDRANT_API_KEY"], collection: values["QDRANT_COLLECTION"]!, http: http),
            completions: ChatCompletionsClient(baseURL: values["GROQ_BASE_URL"] ?? "https://api.groq.com/openai/v1", apiKey: values["GROQ_API_KEY"]!,
                                               model: values["GROQ_MODEL"] ?? "qwen/qwen3-32b", http: http),
            chatwoot: ChatwootClient(baseURL: values["CHATWOOT_URL"]!, apiToken: values["CHATWOOT_API_TOKEN"]!, http: http),
            systemPrompt: values["SYSTEM_PROMPT"]!, keys: keys)
    }
}

/// A flow's configuration is incomplete; the message names the setting.
public struct FlowConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
