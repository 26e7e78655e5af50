import Blobs
import Foundation
import Queue
import Services

/// Which settings the flows need and how they become `FlowServices`. A consumer whose queues take
/// no flow needs none of them; one that does fails at start-up naming the first missing setting.
public enum FlowConfiguration {
    /// Every setting of the chat flow, and whether it must be set (the others have defaults or are
    /// optional, like a key for a local embeddings server). Each may also come from `NAME_FILE`.
    public static let chatSettings: [(name: String, required: Bool)] = [
        ("EMBEDDINGS_URL", true), ("EMBEDDINGS_MODEL", true), ("EMBEDDINGS_API_KEY", false),
        ("QDRANT_URL", true), ("QDRANT_COLLECTION", true), ("QDRANT_API_KEY", false),
        ("GROQ_API_KEY", true), ("GROQ_MODEL", false), ("GROQ_BASE_URL", false),
        ("CHATWOOT_URL", true), ("CHATWOOT_API_TOKEN", true), ("SYSTEM_PROMPT", true),
        ("CHATWOOT_BOT_TOKEN", false), ("ASSISTANT_ANSWERS", false), ("HANDOFF_WITHOUT_KNOWLEDGE", false),
        ("ASSISTANT_GIVE_UP_AFTER", false), ("ASSISTANT_STAFF_INBOX_IDS", false), ("ASSISTANT_ACCESS_DAYS", false),
        ("ASSISTANT_DELAY", false),
    ]

    /// A list of Chatwoot inbox ids (`4,7`) as `ASSISTANT_INBOX_IDS` and `ASSISTANT_STAFF_INBOX_IDS` take it.
    public static func inboxIDs(_ name: String, _ text: String?) throws -> Set<Int> {
        Set(
            try (text ?? "").split(separator: ",").map { part in
                guard let id = Int(part.trimmingCharacters(in: .whitespaces)), id > 0 else {
                    throw ConfigurationError("\(name) '\(text ?? "")' is not a list of inbox ids, e.g. 4,7")
                }
                return id
            })
    }

    /// The voice flow's own settings: Azure Speech by region or endpoint, and where audio is kept.
    public static let voiceSettings: [(name: String, required: Bool)] =
        [
            ("AZURE_SPEECH_KEY", true), ("AZURE_SPEECH_REGION", false), ("AZURE_SPEECH_ENDPOINT", false),
            ("AZURE_SPEECH_LANGUAGE", false), ("AZURE_SPEECH_VOICE", false), ("AZURE_SPEECH_OUTPUT_FORMAT", false), ("BLOB_STORE", false),
        ] + S3Settings.names.map { ($0.name, false) }

    /// The call and booking flows' own settings (they also need the chat flow's): the Chatwoot
    /// account their knowledge and notes belong to, and the team per stay phase
    /// (`pre-stay=3,during-stay=4,post-stay=5,inquiry=2`; phases left out keep their team).
    public static let indexSettings: [(name: String, required: Bool)] =
        [
            ("CHATWOOT_ACCOUNT_ID", true), ("TRIAGE_TEAMS", false), ("TRIAGE_TIME_ZONE", false),
        ] + (RetentionSettings.names + ["PRIVACY_FORGET_DELETED_CONTACTS"]).map { ($0, false) }

    /// The services for a consumer of `queues` (nil: every queue of the catalogue): each flow one
    /// of those queues belongs to must be completely configured; without `queues`, every flow that
    /// is configured runs.
    public static func services(
        forQueues queues: [String]?, keys: Keys, http makeHTTP: @autoclosure () -> HTTPClient,
        setting: (String) throws -> String?
    ) throws -> FlowServices? {
        func wants(_ group: StageNeeds) -> Bool { queues.map { StageGraph.needs(group, onAnyOf: $0) } ?? false }
        return try services(
            chat: wants(.chat), voice: wants(.voice), index: wants(.index),
            keys: keys, http: makeHTTP(), setting: setting)
    }

    /// The flows' services: the chat flow's, plus the voice flow's and the call and booking flows'
    /// when wanted (`voice`, `index`) or configured (AZURE_SPEECH_KEY, CHATWOOT_ACCOUNT_ID set).
    /// Throws, naming the setting, when a wanted flow lacks one.
    public static func services(
        chat: Bool, voice: Bool, index: Bool = false, keys: Keys, http makeHTTP: @autoclosure () -> HTTPClient,
        setting: (String) throws -> String?
    ) throws -> FlowServices? {
        // The HTTP client (and its worker threads) is made only once a flow is configured.
        guard var services = try chatServices(required: chat || voice || index, keys: keys, http: makeHTTP(), setting: setting) else {
            return nil
        }
        try configureIndexing(&services, required: index, setting: setting)
        let key = try setting("AZURE_SPEECH_KEY")
        guard voice || key != nil else { return services }
        guard let key else { throw ConfigurationError("the voice flow needs AZURE_SPEECH_KEY (or AZURE_SPEECH_KEY_FILE)") }
        let hosts: AzureSpeechClient.Hosts
        if let endpoint = try setting("AZURE_SPEECH_ENDPOINT") {
            hosts = .endpoint(endpoint)
        } else if let region = try setting("AZURE_SPEECH_REGION") {
            hosts = .region(region)
        } else {
            throw ConfigurationError("the voice flow needs AZURE_SPEECH_REGION or AZURE_SPEECH_ENDPOINT")
        }
        let http = services.http ?? makeHTTP()
        let format = try setting("AZURE_SPEECH_OUTPUT_FORMAT") ?? "ogg-24khz-16bit-mono-opus"
        guard AzureSpeechClient.fileExtension(ofOutputFormat: format) != nil else {
            throw ConfigurationError(
                "AZURE_SPEECH_OUTPUT_FORMAT \(format) is no format a Chatwoot attachment can carry (ogg-…-opus, webm-…-opus, audio-…-mp3, riff-…-pcm)"
            )
        }
        services.speech = AzureSpeechClient(
            key: key, hosts: hosts, http: http, language: try setting("AZURE_SPEECH_LANGUAGE") ?? "en-US",
            voice: try setting("AZURE_SPEECH_VOICE") ?? "en-US-JennyNeural", outputFormat: format)
        services.blobs = try blobStore(at: try setting("BLOB_STORE") ?? "blobs", http: http, setting: setting)
        return services
    }

    /// The blob store a consumer's sweep works on: the flows' own, else the one `BLOB_STORE` names
    /// (nil when unset). A consumer asked for the `blobs` queue must have one; one asked for other
    /// queues only never opens it (a read-only root need not have the folder).
    public static func blobStore(
        forQueues queues: [String]?, flows: FlowServices?, http makeHTTP: @autoclosure () -> HTTPClient,
        setting: (String) throws -> String?
    ) throws -> BlobStore? {
        if let blobs = flows?.blobs { return blobs }
        if let queues, !queues.contains(BlobRetention.queue), !queues.contains(PrivacyJobs.queue) { return nil }
        guard let location = try setting("BLOB_STORE") else {
            if queues?.contains(BlobRetention.queue) == true {
                throw ConfigurationError("the blobs queue (\(BlobRetention.kind)) needs BLOB_STORE")
            }
            if queues?.contains(PrivacyJobs.queue) == true {
                throw ConfigurationError("the privacy queue needs BLOB_STORE: a person's voice messages and recordings are there")
            }
            return nil
        }
        return try blobStore(at: location, http: makeHTTP(), setting: setting)
    }

    /// The store at `location`, with the S3 settings when it is a bucket; its problems named as settings.
    static func blobStore(at location: String, http: HTTPClient, setting: (String) throws -> String?) throws -> BlobStore {
        try BlobStore(location: location, s3: try S3Settings.from(setting), http: http)
    }

    /// Adds the call and booking flows' account and teams when CHATWOOT_ACCOUNT_ID is set (or
    /// fails naming it when they are `required`).
    static func configureIndexing(_ services: inout FlowServices, required: Bool, setting: (String) throws -> String?) throws {
        guard let text = try setting("CHATWOOT_ACCOUNT_ID") else {
            if required { throw ConfigurationError("the call and booking flows need CHATWOOT_ACCOUNT_ID (or CHATWOOT_ACCOUNT_ID_FILE)") }
            return
        }
        guard let account = Int(text), account > 0 else { throw ConfigurationError("CHATWOOT_ACCOUNT_ID is not an account id: \(text)") }
        services.account = account
        services.teams = try teams(try setting("TRIAGE_TEAMS") ?? "")
        services.retention = try RetentionSettings.from(setting)
        if let zone = try setting("TRIAGE_TIME_ZONE") {
            // The property's day decides the phase: check-in day, the day after check-out.
            guard let timeZone = TimeZone(identifier: zone) else {
                throw ConfigurationError("TRIAGE_TIME_ZONE '\(zone)' is not an IANA time zone, such as Europe/Paris")
            }
            services.timeZone = timeZone
        }
    }

    /// `pre-stay=3,during-stay=4` → the team of each named phase.
    static func teams(_ text: String) throws -> [StayPhase: Int] {
        var teams: [StayPhase: Int] = [:]
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let phase = StayPhase(rawValue: parts[0].lowercased()), let team = Int(parts[1]), team > 0 else {
                throw ConfigurationError(
                    "TRIAGE_TEAMS entry '\(entry)' is not phase=team id (phases: \(StayPhase.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            teams[phase] = team
        }
        return teams
    }

    /// The chat flow's services, or nil when none of its required settings is set and `required`
    /// is false. Throws, naming the setting, when the flow is wanted but a required setting is missing.
    public static func chatServices(
        required: Bool, keys: Keys, http makeHTTP: @autoclosure () -> HTTPClient,
        setting: (String) throws -> String?
    ) throws -> FlowServices? {
        var values: [String: String] = [:]
        for (name, _) in chatSettings { values[name] = try setting(name) }
        let missing = chatSettings.filter { $0.required && values[$0.name] == nil }.map(\.name)
        if missing.count == chatSettings.filter(\.required).count && !required { return nil }
        if let first = missing.first {
            throw ConfigurationError(
                "the chat flow needs \(first) (or \(first)_FILE)"
                    + (missing.count > 1 ? "; also missing: \(missing.dropFirst().joined(separator: ", "))" : ""))
        }
        let withoutKnowledge = values["HANDOFF_WITHOUT_KNOWLEDGE"]
        guard withoutKnowledge == nil || ["0", "1"].contains(withoutKnowledge!) else {
            throw ConfigurationError("HANDOFF_WITHOUT_KNOWLEDGE '\(withoutKnowledge!)' is neither 1 nor 0")
        }
        var giveUpAfter = FlowServices.defaultGiveUpAfter
        if let text = values["ASSISTANT_GIVE_UP_AFTER"] {
            guard let bound = RetryBudgets.duration(text), bound >= .seconds(10), bound <= .seconds(86_400) else {
                throw ConfigurationError("ASSISTANT_GIVE_UP_AFTER '\(text)' is not a duration from 10s to 24h, e.g. 5m")
            }
            giveUpAfter = bound
        }
        let http = makeHTTP()
        var services = FlowServices(
            embeddings: EmbeddingsClient(
                baseURL: values["EMBEDDINGS_URL"]!, apiKey: values["EMBEDDINGS_API_KEY"], model: values["EMBEDDINGS_MODEL"]!, http: http),
            qdrant: QdrantClient(
                baseURL: values["QDRANT_URL"]!, apiKey: values["QDRANT_API_KEY"], collection: values["QDRANT_COLLECTION"]!, http: http),
            completions: ChatCompletionsClient(
                baseURL: values["GROQ_BASE_URL"] ?? "https://api.groq.com/openai/v1", apiKey: values["GROQ_API_KEY"]!,
                model: values["GROQ_MODEL"] ?? "qwen/qwen3-32b", http: http),
            chatwoot: ChatwootClient(
                baseURL: values["CHATWOOT_URL"]!, apiToken: values["CHATWOOT_API_TOKEN"]!, botToken: values["CHATWOOT_BOT_TOKEN"],
                http: http),
            systemPrompt: values["SYSTEM_PROMPT"]!, keys: keys, http: http, turn: try AssistantTurn.configured(values["ASSISTANT_ANSWERS"]))
        services.handOffWithoutKnowledge = withoutKnowledge == "1"
        services.giveUpAfter = giveUpAfter
        services.staffInboxes = try inboxIDs("ASSISTANT_STAFF_INBOX_IDS", values["ASSISTANT_STAFF_INBOX_IDS"])
        if let text = values["ASSISTANT_DELAY"] {
            guard let delay = RetryBudgets.duration(text), delay >= .zero, delay <= .seconds(3_600) else {
                throw ConfigurationError("ASSISTANT_DELAY '\(text)' is not a duration from 0s to 1h, e.g. 2m")
            }
            services.assistantDelay = delay
        }
        if let text = values["ASSISTANT_ACCESS_DAYS"] {
            guard let days = Int(text), (0...30).contains(days) else {
                throw ConfigurationError("ASSISTANT_ACCESS_DAYS '\(text)' is not a whole number of days from 0 to 30")
            }
            services.accessDays = days
        }
        return services
    }
}
