import Blobs
import Foundation
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Jobs

/// `blobs.sweep` as the scheduler enqueues it and a consumer with a blob store runs it.
@Suite struct BlobRetentionTests {
    @Test func theSweepJobRemovesOldAudioAndRefusesAnAgeThatCouldTakeLiveAudio() async throws {
        let server = try await RedisServer()
        let pool = RedisPool(endpoint: server.endpoint, size: 2)
        defer { pool.close() }
        let broker = Broker(pool: pool, keys: Keys(prefix: "sweep"))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let blobs = try BlobStore(location: folder.path)
        let old = try blobs.create(folder: "calls", name: "1-recording.mp3")
        try await old.append([1, 2, 3])
        try await old.commit()
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-40 * 86_400)], ofItemAtPath: String(old.reference.dropFirst(7)))
        let fresh = try blobs.create(folder: "calls", name: "2-recording.mp3")
        try await fresh.append([4])
        try await fresh.commit()
        let registry = Catalogue.registry(blobs: blobs)
        let sweep = try #require(registry[BlobRetention.kind])
        try await broker.add(sweep.request(payload: #"{"older_than_days": 30}"#).envelope(), to: BlobRetention.queue)
        try await broker.add(sweep.request(payload: #"{"older_than_days": 0}"#).envelope(), to: BlobRetention.queue)
        let consumer = StreamConsumer(
            configuration: ConsumerConfiguration(queues: [BlobRetention.queue], concurrency: 1, fetchBlock: .milliseconds(100)),
            registry: registry, broker: broker, logger: .init(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            let settled = await eventually(timeout: .seconds(20)) {
                let dead = try? await pool.send("XLEN", broker.keys.dead(BlobRetention.queue)).integer
                return dead == 1 && !FileManager.default.fileExists(atPath: String(old.reference.dropFirst(7)))
            }
            consumer.stop()
            try await group.waitForAll()
            #expect(settled)
        }
        #expect(try await blobs.read(fresh.reference) == [4], "a young blob stays")
        #expect(Catalogue.registry()[BlobRetention.kind] == nil, "no blob store, no sweep: such a consumer never takes the job")
        #expect(Catalogue.schedulable()[BlobRetention.kind] != nil, "the scheduler may enqueue it")
    }
}
