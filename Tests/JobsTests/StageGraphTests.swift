import Foundation
import Logging
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// The stage graph is the one table of kinds, queues, flows and next stages: consistent in
/// itself, held by the engine at run time, and what the consumer's queue checks read.
@Suite struct StageGraphTests {
    @Test func everyNextStageIsAStageAndEveryKindHasOneQueue() {
        let kinds = StageGraph.stages.map(\.kind)
        #expect(Set(kinds).count == kinds.count, "a kind listed twice")
        for stage in StageGraph.stages {
            for next in stage.next { #expect(StageGraph.stage(next) != nil, "\(stage.kind) hands on to \(next), which is no stage") }
        }
        // Every stage that is not an entry is reached from another stage.
        let reached = Set(StageGraph.stages.flatMap(\.next))
        for stage in StageGraph.stages where !stage.entry {
            #expect(reached.contains(stage.kind), "\(stage.kind) is neither an entry nor reached")
        }
        #expect(StageGraph.stage("chat.retrieve")?.next == ["chat.generate"])
        #expect(StageGraph.stage("chat.generate")?.next == ["chat.reply", "voice.synthesize"])
        #expect(Catalogue.allQueues == StageGraph.queues)
    }

    @Test func theSettingsAStageNeedsAreThoseItsQueueChecksAskFor() {
        #expect(StageGraph.stage("chat.reply")?.settings.first == "EMBEDDINGS_URL")
        #expect(StageGraph.stage("call.download")?.settings.contains("CHATWOOT_ACCOUNT_ID") == true)
        #expect(StageGraph.stage("call.download")?.settings.contains("AZURE_SPEECH_KEY") == true)
        #expect(
            StageGraph.stage("backup.database")?.settings == [
                "DATABASE_URL", "R2_ENDPOINT|R2_ACCOUNT_ID", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "R2_BUCKET",
            ])
        #expect(StageGraph.needs(.voice, onAnyOf: ["call-transcribe"]))
        #expect(!StageGraph.needs(.voice, onAnyOf: ["vectorize", "triage", "retrieve"]))
        #expect(StageGraph.needs(.index, onAnyOf: ["triage"]))
        // The consumer asked for the triage queue with the chat flow's settings but no account.
        let chat = [
            "EMBEDDINGS_URL": "http://e", "EMBEDDINGS_MODEL": "m", "QDRANT_URL": "http://q", "QDRANT_COLLECTION": "c",
            "GROQ_API_KEY": "k", "CHATWOOT_URL": "http://c", "CHATWOOT_API_TOKEN": "t", "SYSTEM_PROMPT": "p",
        ]
        #expect(throws: ConfigurationError.self) {
            _ = try FlowConfiguration.services(forQueues: ["triage"], keys: Keys(), http: HTTPClient(connections: 1)) { chat[$0] }
        }
        let error = #expect(throws: ConfigurationError.self) {
            _ = try FlowConfiguration.services(forQueues: ["call-transcribe"], keys: Keys(), http: HTTPClient(connections: 1)) {
                $0 == "CHATWOOT_ACCOUNT_ID" ? "1" : chat[$0]
            }
        }
        #expect(error?.description.contains("AZURE_SPEECH_KEY") == true)
    }

    /// A stage returning a next job the graph does not list is dead-lettered saying so, and the
    /// job it asked for is never enqueued.
    @Test func aHandOffOutsideTheGraphIsRefused() async throws {
        let server = try await RedisServer()
        let pool = RedisPool(endpoint: server.endpoint, size: 2)
        defer { pool.close() }
        let broker = Broker(pool: pool, keys: Keys(prefix: "graph"))
        let stray = JobDefinition(
            kind: "chat.retrieve", queue: "retrieve", retry: .once, timeout: .seconds(5), payload: Diagnostics.Empty.self
        ) { _, _ in
            .next(JobRequest(queue: "reply", kind: "chat.reply", payload: "{}", maxAttempts: 1))
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let consumer = StreamConsumer(
            configuration: ConsumerConfiguration(queues: ["retrieve"], fetchBlock: .milliseconds(100)),
            registry: JobRegistry([Catalogue.callingServices(stray)]), broker: broker, logger: logger)
        try await broker.add(JobRequest(queue: "retrieve", kind: "chat.retrieve", payload: "{}", maxAttempts: 1).envelope(), to: "retrieve")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            #expect(await eventually { (try? await pool.send("XLEN", broker.keys.dead("retrieve")).integer) == 1 })
            consumer.stop()
            try await group.waitForAll()
        }
        let entries = try await pool.send("XRANGE", broker.keys.dead("retrieve"), "-", "+")
        let entryID = try #require(entries.array?.first?.array?.first?.string)
        let found = try await DeadLetters(broker: broker).find(entryID)
        let letter = try #require(found)
        #expect(letter.error.contains("stage chat.retrieve may not hand on to chat.reply"), "\(letter.error)")
        #expect(try await pool.send("EXISTS", broker.keys.stream("reply")).integer == 0)
    }
}
