import Foundation
import Queue
import Services
import Testing

@testable import Jobs

/// How the flows' settings become services, and how a wrong one is refused naming it.
@Suite struct FlowConfigurationTests {
    static let chat = [
        "EMBEDDINGS_URL": "http://127.0.0.1:9", "EMBEDDINGS_MODEL": "m", "QDRANT_URL": "http://127.0.0.1:9", "QDRANT_COLLECTION": "k",
        "GROQ_API_KEY": "g", "CHATWOOT_URL": "http://127.0.0.1:9", "CHATWOOT_API_TOKEN": "t", "SYSTEM_PROMPT": "p",
    ]

    static func services(_ extra: [String: String]) throws -> FlowServices? {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-config-\(UUID().uuidString)").path
        let settings = chat.merging(["AZURE_SPEECH_KEY": "az", "AZURE_SPEECH_REGION": "westeurope", "BLOB_STORE": folder]) { $1 }.merging(
            extra
        ) { $1 }
        return try FlowConfiguration.services(forQueues: ["transcribe"], keys: Keys(prefix: "config"), http: HTTPClient(connections: 1)) {
            settings[$0]
        }
    }

    @Test func theSpokenAnswersFormatIsConfigurableAndMustSuitAnAttachment() throws {
        #expect(try Self.services([:])?.speech?.outputFormat == "ogg-24khz-16bit-mono-opus")
        #expect(
            try Self.services(["AZURE_SPEECH_OUTPUT_FORMAT": "audio-24khz-48kbitrate-mono-mp3"])?.speech?.outputFormat
                == "audio-24khz-48kbitrate-mono-mp3")
        #expect { try Self.services(["AZURE_SPEECH_OUTPUT_FORMAT": "raw-16khz-16bit-mono-pcm"]) } throws: {
            "\($0)".contains("AZURE_SPEECH_OUTPUT_FORMAT")
        }
        #expect(AzureSpeechClient.fileExtension(ofOutputFormat: "riff-24khz-16bit-mono-pcm") == "wav")
        #expect(AzureSpeechClient.fileExtension(ofOutputFormat: "webm-24khz-16bit-mono-opus") == "webm")
    }

    @Test func theGuestsGiveUpBoundIsReadAndHostileValuesAreRefused() throws {
        #expect(try Self.services([:])?.giveUpAfter == .seconds(300))
        #expect(try Self.services(["ASSISTANT_GIVE_UP_AFTER": "90s"])?.giveUpAfter == .seconds(90))
        for hostile in ["0s", "5s", "25h", "9223372036854775807s", "-1m", "soon", ""] {
            #expect(throws: ConfigurationError.self, "\(hostile)") { try Self.services(["ASSISTANT_GIVE_UP_AFTER": hostile]) }
        }
        // Every stage of the guest's flows carries it; background stages keep hours.
        let services = try #require(try Self.services(["ASSISTANT_GIVE_UP_AFTER": "2m"]))
        let registry = Catalogue.registry(flows: services)
        for kind in ["chat.retrieve", "chat.generate", "chat.reply", "voice.transcribe", "voice.synthesize"] {
            #expect(registry.definitions[kind]?.retry.heldBackAtMost == .seconds(120), "\(kind)")
        }
    }

    @Test func theCallAndBookingFlowsNeedTheirAccountAndReadTheirTeams() throws {
        let settings = Self.chat.merging(["CHATWOOT_ACCOUNT_ID": "3", "TRIAGE_TEAMS": "post-stay=9"]) { $1 }
        let services = try FlowConfiguration.services(forQueues: ["triage"], keys: Keys(prefix: "config"), http: HTTPClient(connections: 1))
        { settings[$0] }
        #expect(services?.account == 3 && services?.teams == [.postStay: 9])
        #expect {
            try FlowConfiguration.services(forQueues: ["vectorize"], keys: Keys(prefix: "c"), http: HTTPClient(connections: 1)) {
                Self.chat[$0]
            }
        } throws: { "\($0)".contains("CHATWOOT_ACCOUNT_ID") }
        let wrong = Self.chat.merging(["CHATWOOT_ACCOUNT_ID": "three"]) { $1 }
        #expect {
            try FlowConfiguration.services(forQueues: ["triage"], keys: Keys(prefix: "c"), http: HTTPClient(connections: 1)) { wrong[$0] }
        } throws: { "\($0)".contains("CHATWOOT_ACCOUNT_ID") }
    }

    /// The image once named a blob folder every service inherited; on a read-only root each
    /// consumer that opened it exited 2 at start. Only a consumer of the `blobs` queue (or of every
    /// queue) opens the store `BLOB_STORE` names; the flows that keep audio open their own.
    @Test func onlyAConsumerOfTheBlobsQueueOpensTheStoreBLOB_STORENames() throws {
        let unwritable = ["BLOB_STORE": "file:///proc/switchboard-blobs"]
        for queues in [["diagnostics"], ["retrieve", "generate"], ["reply"], ["backups"]] {
            #expect(
                try FlowConfiguration.blobStore(forQueues: queues, flows: nil, http: HTTPClient(connections: 1)) { unwritable[$0] } == nil,
                "\(queues)")
        }
        #expect {
            try FlowConfiguration.blobStore(forQueues: ["blobs"], flows: nil, http: HTTPClient(connections: 1)) { unwritable[$0] }
        } throws: { "\($0)".contains("/proc/switchboard-blobs") }
        #expect {
            try FlowConfiguration.blobStore(forQueues: nil, flows: nil, http: HTTPClient(connections: 1)) { unwritable[$0] }
        } throws: { "\($0)".contains("/proc/switchboard-blobs") }
        #expect {
            try FlowConfiguration.blobStore(forQueues: ["blobs"], flows: nil, http: HTTPClient(connections: 1)) { _ in nil }
        } throws: { "\($0)".contains("BLOB_STORE") }
    }
}
