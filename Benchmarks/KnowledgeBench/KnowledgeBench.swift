import Foundation
import Jobs
import Logging
import Queue
import Redis
import Services
import TestSupport

/// `knowledgebench`: a 300-page house manual through `switchboard knowledge add` into a
/// `switchboard consumer` of the knowledge queue (the stack's `knowledge` service), against
/// qdrant-client's local mode and an embeddings stand-in that answers at once — so the figures are
/// ours: pieces per second, embedding calls, the consumer's peak RSS. Then a guest's retrieval as
/// the chat flow now runs it (their verified identities, their stay, the listing and restricted
/// filter) beside the retrieval before this knowledge work (one query under the account and the
/// private mark), in the same run, on the same points: the latency the guest's own stay adds.
@main
struct KnowledgeBench {
    static func main() async throws {
        var pages = 300
        var runs = 3
        var questions = 200
        var iterator = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--pages": pages = iterator.next().flatMap(Int.init) ?? pages
            case "--runs": runs = iterator.next().flatMap(Int.init) ?? runs
            case "--questions": questions = iterator.next().flatMap(Int.init) ?? questions
            default:
                print("usage: knowledgebench [--pages 300] [--runs 3] [--questions 200]")
                exit(2)
            }
        }
        let redis = try await RedisServer()
        let h = ProcessHarness(server: redis, prefix: "knowledgebench")
        let qdrant = try await LocalQdrant()
        let dimensions = 384
        let vector = (0..<dimensions).map { Float(($0 % 7) + 1) / 7 }
        let embeddings = try await FakeService.embeddings(vector: vector)
        let model = try await FakeService.chatModel(answer: "Check-in is from 15:00.")
        let chatwoot = try await FakeChatwoot(token: "cw", conversations: [.init(id: 21)])
        let environment = [
            "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrant.url, "QDRANT_API_KEY": qdrant.apiKey,
            "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "GROQ_BASE_URL": model.url + "/openai/v1",
            "CHATWOOT_URL": chatwoot.url, "CHATWOOT_API_TOKEN": "cw", "SYSTEM_PROMPT": "Front desk.", "CHATWOOT_ACCOUNT_ID": "1",
            "LOG_LEVEL": "warning",
        ]
        let consumer = try h.consumer(["--queues", "knowledge", "--concurrency", "2"], environment: environment)
        defer { consumer.signal(SIGTERM) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("knowledgebench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        print(
            "knowledgebench: \(pages) pages, \(runs) runs, \(dimensions)-dimensional vectors, switchboard at \(SwitchboardProcess.executable.path)"
        )

        var rates: [Double] = []
        var pieces = 0
        var calls = 0
        for run in 1...runs {
            // Each run a new version of the manual (one word changes on every page), so each is indexed whole.
            let manual = folder.appendingPathComponent("manual.md")
            try Self.manual(pages: pages, edition: run).write(to: manual, atomically: true, encoding: .utf8)
            let before = embeddings.requests.count
            let started = ContinuousClock.now
            let added = try await SwitchboardProcess.run(
                ["knowledge", "add", manual.path, "--id", "manual", "--listing", "L1"] + h.common, environment: environment,
                timeout: .seconds(1800))
            let took = Measure.seconds(ContinuousClock.now - started)
            guard added.status == 0, let count = Int(added.output.split(separator: "(").last?.split(separator: " ").first ?? "") else {
                throw TestFailure("knowledge add failed: \(added.output)\n\(consumer.log.suffix(2000))")
            }
            pieces = count
            calls = embeddings.requests.count - before
            rates.append(Double(count) / took)
            print(
                String(
                    format: "run %d: %d pieces in %.2f s (%.0f pieces/s), %d embedding calls", run, count, took, Double(count) / took, calls
                ))
        }
        let peak = Measure.memory(consumer.pid, "VmHWM") ?? 0
        print(
            String(
                format: "indexing: median %.0f pieces/s, %d pieces, %d embedding calls a run, consumer peak RSS %.1f MiB",
                Measure.median(rates),
                pieces, calls, Double(peak) / 1024))

        // A guest with a confirmed stay at L1, verified for conversation 21, as the booking flow records it.
        let pool = RedisPool(endpoint: redis.endpoint, size: 2)
        defer { pool.close() }
        let keys = Keys(prefix: h.prefix)
        let today = ISO8601DateFormatter().string(from: Date()).prefix(10)
        let stay =
            #"{"event":"reservation.new","reservation_id":"R1","status":"confirmed","listing_id":"L1","check_in":"\#(today)","check_out":"2099-01-01","guest_phone":"+33611111111"}"#
        _ = try await pool.send("HSET", keys.reservations, "R1", stay)
        _ = try await pool.send("HSET", keys.reservationsByContact, "phone:33611111111", "R1")
        _ = try await pool.send("HSET", keys.verifiedGuest(account: 1, conversation: 21), "phone:33611111111", "a reservation")
        let http = HTTPClient(connections: 2)
        let services = FlowServices(
            embeddings: EmbeddingsClient(baseURL: embeddings.url, apiKey: nil, model: "m", http: http),
            qdrant: QdrantClient(baseURL: qdrant.url, apiKey: qdrant.apiKey, collection: "knowledge", http: http),
            completions: ChatCompletionsClient(baseURL: model.url + "/openai/v1", apiKey: "gsk", model: "m", http: http),
            chatwoot: ChatwootClient(baseURL: chatwoot.url, apiToken: "cw", http: http), systemPrompt: "Front desk.", keys: keys,
            account: 1)
        let message = ChatMessage(
            accountID: 1, conversationID: 21, inboxID: 1, messageID: 1, content: "When can I check in?", senderID: 7, senderName: "Ada")
        var now: [Double] = []
        var before: [Double] = []
        for _ in 0..<questions {
            // Alternating, so both meet the same machine.
            let start = ContinuousClock.now
            let found = try await ChatRetrieval.run(services, redis: pool, message: message)
            now.append(Measure.seconds(ContinuousClock.now - start) * 1000)
            let earlier = ContinuousClock.now
            let vector = try await services.embeddings.embed([message.content]).first ?? []
            let hits = try await services.qdrant.query(
                vector, limit: services.contextLimit, must: ["account_id": .integer(1)], mustNot: ["private": .bool(true)],
                scoreThreshold: services.scoreThreshold)
            before.append(Measure.seconds(ContinuousClock.now - earlier) * 1000)
            guard !found.hits.isEmpty, !hits.isEmpty else { throw TestFailure("a retrieval found nothing") }
        }
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        print(
            String(
                format:
                    "retrieval (%d questions each, alternating): guest's stay and filter p50 %.2f ms p99 %.2f ms; before p50 %.2f ms p99 %.2f ms; added p50 %.2f ms",
                questions, percentile(now, 0.5), percentile(now, 0.99), percentile(before, 0.5), percentile(before, 0.99),
                percentile(now, 0.5) - percentile(before, 0.5)))
    }

    /// A house manual of `pages` pages of about 3,000 characters, a heading a page, a restricted
    /// section every tenth; `edition` changes one word a page.
    static func manual(pages: Int, edition: Int) -> String {
        (1...pages).map { page in
            let restricted = page % 10 == 0 ? " [restricted]" : ""
            let paragraph =
                "On page \(page) of edition \(edition) the manual explains how the flat works: the heating, the shutters, "
                + "the bins, the washing machine and where the spare towels are kept for guests who stay a week or more. "
            let body = (0..<6).map { _ in String(repeating: paragraph, count: 2) }.joined(separator: "\n\n")
            return "## Page \(page)\(restricted)\n\n\(body)"
        }.joined(separator: "\n\n")
    }
}
