import ArgumentParser
import Blobs
import Foundation
import Jobs
import Logging
import Queue
import Redis
import Services
import TestSupport

/// `switchboardbench privacy`: what `privacy find` and `forget` cost with a deployment's worth of
/// data held — `--points` knowledge points (qdrant-client's local mode behind Qdrant's REST paths),
/// `--blobs` blobs in a folder store, and as many jobs waiting, reservations and known contacts in a
/// redis-server of its own — of which one guest's are a handful: wall time of each run (median of
/// `--runs`) and this process's peak RSS before and after, since every place is read in pages.
struct PrivacyBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy",
        abstract: "Time and memory of privacy find and forget with many points, blobs and jobs held."
    )

    @Option(help: "Knowledge points held (all but ten someone else's).")
    var points: Int = 100_000

    @Option(help: "Blobs held.")
    var blobs: Int = 10_000

    @Option(help: "Jobs waiting, reservations and known contacts held, each.")
    var records: Int = 10_000

    @Option(help: "Finds to time.")
    var runs: Int = 3

    func validate() throws {
        guard (10...2_000_000).contains(points), (10...1_000_000).contains(blobs), (10...1_000_000).contains(records) else {
            throw ValidationError("--points, --blobs and --records from 10 up")
        }
        guard (1...50).contains(runs) else { throw ValidationError("--runs must be 1-50") }
    }

    func run() async throws {
        let server = try await RedisServer()
        let pool = RedisPool(endpoint: server.endpoint, size: 2)
        defer { pool.close() }
        let keys = Keys(prefix: "bench-privacy")
        let broker = Broker(pool: pool, keys: keys)
        let qdrantServer = try await LocalQdrant()
        let qdrant = QdrantClient(
            baseURL: qdrantServer.url, apiKey: qdrantServer.apiKey, collection: "knowledge", http: HTTPClient(), timeout: .seconds(600))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("privacybench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try BlobStore(location: "file://" + folder.path)
        print("privacy: \(points) points, \(blobs) blobs, \(records) jobs, reservations and known contacts held; one guest's: 10 of each")

        var start = ContinuousClock.now
        try await qdrant.ensureCollection(vectorSize: 4)
        var batch: [QdrantClient.Point] = []
        for index in 0..<points {
            let guest = index < 10 ? 0 : 1 + index % max(1, records)
            batch.append(
                QdrantClient.Point(
                    id: QdrantClient.pointID(for: "bench#\(index)"), vector: [1, 0, 0, Float(index % 7)],
                    payload: [
                        "account_id": .integer(1), "private": .bool(true), "source": .string("call"), "call_id": .integer(index),
                        "source_id": .string("aircall:call:\(index):recording"),
                        "guest_keys": .array([.string("phone:\(Self.phone(guest))")]),
                        "started_at": .integer(1_764_000_000 + index), "text": .string("A call of some length about a stay. \(index)"),
                    ]))
            if batch.count == 1_000 {
                try await qdrant.upsert(batch, batchSize: 1_000)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await qdrant.upsert(batch, batchSize: 1_000) }
        for index in 0..<blobs {
            let conversation = index < 10 ? 1 : 2 + index % max(1, records)
            let file = folder.appendingPathComponent("voice/2026/12/0\(index % 7 + 1)/1-\(conversation)-\(index).ogg")
            if index < 7 {
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            }
            try Data(count: 2_048).write(to: file)
        }
        var commands: [RedisCommand] = []
        for index in 0..<records {
            let guest = index < 10 ? 0 : index
            let conversation = index < 10 ? 1 : 2 + index
            let reservation =
                #"{"event":"reservation.updated","reservation_id":"R-\#(index)","guest_phone":"+\#(Self.phone(guest))","check_out":"2026-12-27"}"#
            commands.append(RedisCommand("HSET", [keys.reservations, "R-\(index)", reservation]))
            commands.append(
                RedisCommand(
                    "HSET",
                    [keys.knownContact(account: 1, contact: guest + 1), "k:phone:\(Self.phone(guest))", "1", "c:\(conversation)", "1"]))
            commands.append(RedisCommand("SADD", [keys.knownContacts, "1:\(guest + 1)"]))
            let payload = #"{"account_id":1,"conversation_id":\#(conversation),"message_id":\#(index),"content":"Hello"}"#
            commands.append(
                RedisCommand(
                    "XADD", [keys.stream("retrieve"), "*"] + Envelope(kind: "chat.retrieve", maxAttempts: 4, payload: payload).fields))
            if commands.count >= 4_000 {
                _ = try await pool.pipeline(commands)
                commands.removeAll(keepingCapacity: true)
            }
        }
        if !commands.isEmpty { _ = try await pool.pipeline(commands) }
        try await broker.ensureGroup("retrieve")
        print(String(format: "  seeded in %.1f s", Measure.seconds(ContinuousClock.now - start)))

        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let data = PersonalData(
            pool: pool, keys: keys, account: 1, qdrant: qdrant, chatwoot: nil, blobs: store, mirror: nil, queues: ["retrieve"])
        let guest = "+" + Self.phone(0)
        // Qdrant's own share: one scroll of the guest's points, as each run makes two of them.
        start = ContinuousClock.now
        try await qdrant.scroll(QdrantFilter(must: [.any("guest_keys", ["phone:\(Self.phone(0))"])]), fields: ["call_id"]) { _ in }
        let scroll = Measure.seconds(ContinuousClock.now - start)
        let before = Double(Measure.memory(getpid(), "VmHWM") ?? 0) / 1024
        var times: [Double] = []
        var held = 0
        for _ in 0..<runs {
            start = ContinuousClock.now
            let report = await data.run(PrivacyRequest(phone: guest, requestedBy: "bench"), logger: logger)
            times.append(Measure.seconds(ContinuousClock.now - start))
            held = report.held
            if let failed = report.failed { throw ValidationError("find failed: \(failed)") }
        }
        let afterFind = Double(Measure.memory(getpid(), "VmHWM") ?? 0) / 1024
        start = ContinuousClock.now
        let forgot = await data.run(PrivacyRequest(phone: guest, forget: true, requestedBy: "bench"), logger: logger)
        let forgetTime = Measure.seconds(ContinuousClock.now - start)
        let afterForget = Double(Measure.memory(getpid(), "VmHWM") ?? 0) / 1024
        let byPlace = forgot.places.filter { $0.removed > 0 }.map { "\($0.place) \($0.removed)" }.joined(separator: ", ")
        print(String(format: "  one filtered scroll of the guest's points, Qdrant alone: %.2f s", scroll))
        print(String(format: "  find: median %.2f s of %d runs (%d items of the guest's found)", Measure.median(times), runs, held))
        print(
            String(
                format: "  forget: %.2f s, %d removed (%@)%@", forgetTime, forgot.removed, byPlace, forgot.complete ? "" : ", NOT complete")
        )
        print(
            String(
                format: "  peak RSS of this process: %.1f MB seeded, %.1f MB after the finds, %.1f MB after the forget", before, afterFind,
                afterForget))
    }

    /// A guest's phone digits: guest 0 is the one looked up.
    static func phone(_ guest: Int) -> String { String(33_600_000_000 + guest) }
}
