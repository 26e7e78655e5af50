/// An external service whose calls are limited across the whole deployment. Its settings are named
/// after it (`RATE_LIMIT_GROQ`, `CONCURRENCY_AZURE_STT`), and its defaults are the vendor's published
/// limits for the plan most deployments start on, so a fresh deployment stays under them without
/// being told; an operator on a larger plan raises them.
public enum ExternalService: String, CaseIterable, Sendable, Hashable {
    /// Groq chat completions: the free plan allows 30 requests per minute per model (the paid plans
    /// more; the console shows an organisation's own), counted per organisation.
    case groq
    /// The OpenAI-compatible embeddings API: OpenAI's first usage tier allows 3,000 requests per minute.
    case embeddings
    /// Qdrant: self-hosted, no published limit; unlimited unless set.
    case qdrant
    /// Chatwoot's API: Rack::Attack allows 3,000 requests per minute per client address by default
    /// (`RACK_ATTACK_LIMIT`), and every replica may leave through the same address.
    case chatwoot
    /// Azure speech to text (short audio): 100 concurrent requests per resource on Standard (S0),
    /// 1 on Free (F0).
    case azureSTT = "azure_stt"
    /// Azure text to speech: 200 transactions per second per resource on Standard (S0), 20 per
    /// minute on Free (F0).
    case azureTTS = "azure_tts"
    /// The Hetzner Cloud API: 3,600 requests per hour per project, refilled at one per second.
    case hetzner

    /// The upper-case name its settings end in: `GROQ`, `AZURE_STT`.
    public var settingName: String { rawValue.uppercased() }

    /// The vendor's published limit, used when the operator sets none.
    public var publishedLimit: ServiceLimit {
        switch self {
        case .groq: ServiceLimit(rate: RateLimit(30, per: .minute))
        case .embeddings: ServiceLimit(rate: RateLimit(3000, per: .minute))
        case .qdrant: ServiceLimit()
        case .chatwoot: ServiceLimit(rate: RateLimit(3000, per: .minute))
        case .azureSTT: ServiceLimit(concurrency: 100)
        case .azureTTS: ServiceLimit(rate: RateLimit(200, per: .second))
        case .hetzner: ServiceLimit(rate: RateLimit(3600, per: .hour))
        }
    }
}
