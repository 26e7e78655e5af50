import Foundation
import Hummingbird
import Jobs
import Queue
import Redis
import Services
import TestSupport
import Testing

/// The limits as a deployment lives them: several `switchboard consumer` processes, a burst of
/// guests, and a model that enforces its own limit with 429s above it.
@Suite struct SharedLimitsProcessTests {
    /// A model that counts like Groq: a token bucket of `capacity` refilled at `capacity` per
    /// second; a call with no token left is answered 429 with `Retry-After`. It records when each
    /// call arrived and what it answered.
    final class LimitedModel: Sendable {
        struct State {
            var tokens: Double
            var refilledAt = ContinuousClock.now
            var arrivals: [ContinuousClock.Instant] = []
            var refused: [ContinuousClock.Instant] = []
        }

        let capacity: Double
        let burst: Double
        let state: LockedValue<State>
        /// Decides the answer before the bucket does: a 429 or 503 of the test's own, or nil.
        let override: @Sendable (_ call: Int, _ body: [UInt8]) -> Response?
        private(set) nonisolated(unsafe) var service: FakeService!

        /// `burst`: how many calls may arrive at once (default `perSecond`).
        init(
            perSecond capacity: Int, burst: Int? = nil,
            override: @escaping @Sendable (_ call: Int, _ body: [UInt8]) -> Response? = { _, _ in nil }
        ) async throws {
            self.capacity = Double(capacity)
            self.burst = Double(burst ?? capacity)
            self.state = LockedValue(State(tokens: Double(burst ?? capacity)))
            self.override = override
            service = try await FakeService { [unowned self] received in self.answer(received) }
        }

        var url: String { service.url }
        var arrivals: [ContinuousClock.Instant] { state.value.arrivals }
        var refused: [ContinuousClock.Instant] { state.value.refused }

        private func answer(_ received: FakeService.Received) -> Response {
            let (call, allowed) = state.withLock { state -> (Int, Bool) in
                let now = ContinuousClock.now
                state.tokens = min(burst, state.tokens + (now - state.refilledAt) / .seconds(1) * capacity)
                state.refilledAt = now
                state.arrivals.append(now)
                guard state.tokens >= 1 else {
                    state.refused.append(now)
                    return (state.arrivals.count, false)
                }
                state.tokens -= 1
                return (state.arrivals.count, true)
            }
            if let own = override(call, received.body) {
                if own.status == .tooManyRequests { state.withLock { $0.refused.append(.now) } }
                return own
            }
            guard allowed else {
                return FakeService.answer(
                    .tooManyRequests, #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
                    headers: [.retryAfter: "1"])
            }
            let question = ((jsonFields(received.body)["messages"] as? [[String: String]])?.last?["content"]) ?? ""
            return FakeService.answer(
                .ok,
                #"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Answer to \#(question)"},"finish_reason":"stop"}]}"#
            )
        }
    }

    struct Deployment {
        let server: RedisServer
        let h: ProcessHarness
        let chatwoot: FakeChatwoot
        let environment: [String: String]

        init(model: LimitedModel, conversations: Int, settings: [String: String]) async throws {
            server = try await RedisServer()
            h = ProcessHarness(server: server)
            let embeddings = try await FakeService.embeddings(vector: [0, 1, 0])
            let (_, qdrant) = try await FakeQdrant.create(apiKey: "qd")
            try await QdrantClient(baseURL: qdrant.url, apiKey: "qd", collection: "knowledge", http: HTTPClient()).ensureCollection(
                vectorSize: 3)
            chatwoot = try await FakeChatwoot(token: "t", conversations: (1...conversations).map { .init(id: $0) })
            environment = [
                "EMBEDDINGS_URL": embeddings.url, "EMBEDDINGS_MODEL": "m", "QDRANT_URL": qdrant.url, "QDRANT_API_KEY": "qd",
                "QDRANT_COLLECTION": "knowledge", "GROQ_API_KEY": "gsk", "GROQ_BASE_URL": model.url, "CHATWOOT_URL": chatwoot.url,
                "CHATWOOT_API_TOKEN": "t", "SYSTEM_PROMPT": "Front desk.",
            ].merging(settings) { _, setting in setting }
        }

        func consumer(_ settings: [String: String] = [:], concurrency: Int = 8) throws -> SwitchboardProcess {
            try h.consumer(
                ["--queues", "retrieve,generate,reply", "--concurrency", String(concurrency)],
                environment: environment.merging(settings) { _, setting in setting })
        }

        /// `count` guests' messages, spread over the conversations, enqueued at once.
        func burst(_ count: Int, conversations: Int, firstID: Int = 1) async throws {
            let pool = RedisPool(endpoint: server.endpoint)
            defer { pool.close() }
            let broker = Broker(pool: pool, keys: Keys(prefix: h.prefix))
            for index in 0..<count {
                let id = firstID + index
                let message = ChatMessage(
                    accountID: 1, conversationID: 1 + index % conversations, inboxID: 1, messageID: id,
                    content: "question \(id)", senderID: 3, senderName: "Guest")
                try await broker.add(try Flows.chat.request(message, dedupe: nil).envelope(), to: Flows.chat.queue)
            }
        }

        func dead() async throws -> Int {
            var total = 0
            for queue in ["retrieve", "generate", "reply"] { total += try await h.integer("XLEN", h.key("\(queue):dead")) }
            return total
        }

        /// Nothing left in any stage: no entry in a stream, nothing waiting to run again.
        func idle() async -> Bool {
            for queue in ["retrieve", "generate", "reply"] {
                guard (try? await h.integer("XLEN", h.key("\(queue):stream"))) == 0,
                    (try? await h.integer("ZCARD", h.key("\(queue):delayed"))) == 0
                else { return false }
            }
            return true
        }

        func held() async throws -> [String: Int] {
            try await h.client.send("HGETALL", h.key("limit:groq")).integerHash
        }
    }

    /// Most calls any window of the arrivals holds beyond `perSecond` with a burst of as many. The
    /// window is taken `jitter` wider: between Redis letting a call go and the call arriving, a
    /// process on a loaded machine can lose that long, and the next one not.
    static func excess(_ arrivals: [ContinuousClock.Instant], perSecond: Int, jitter: Duration = .milliseconds(200)) -> Int {
        let times = arrivals.sorted()
        var worst = 0
        for i in times.indices {
            for j in times.indices where j > i {
                let allowed = perSecond + Int(((times[j] - times[i] + jitter) / .seconds(1)) * Double(perSecond))
                worst = max(worst, j - i + 1 - allowed)
            }
        }
        return worst
    }

    @Test func aBurstOfGuestsAgainstALimitedModelIsAllAnsweredByThreeReplicas() async throws {
        // 12/s against the replicas' 10/s. A loaded CI machine can hold a consumer back for a moment
        // and let its calls go together (seen twice: one call past a burst of 12), so the model
        // takes a burst of 16; the excess check below holds the calls to 10/s within a second.
        let model = try await LimitedModel(perSecond: 12, burst: 16)
        // Two attempts per stage: if being held back counted, most of the burst would die.
        let d = try await Deployment(model: model, conversations: 20, settings: ["RATE_LIMIT_GROQ": "10/s", "RETRY_CHAT": "2/100ms/100ms"])
        let replicas = try (0..<3).map { _ in try d.consumer() }
        defer { for replica in replicas where replica.isRunning { replica.signal(SIGKILL) } }
        try await d.burst(200, conversations: 20)
        #expect(
            await eventually(timeout: .seconds(120)) { d.chatwoot.messages.count >= 200 },
            "\(d.chatwoot.messages.count) answered; \(replicas[0].log.suffix(1500))")
        #expect(await eventually(timeout: .seconds(30)) { await d.idle() })
        #expect(d.chatwoot.messages.count == 200, "each guest answered once")
        #expect(Set(d.chatwoot.messages.map(\.content)).count == 200)
        #expect(try await d.dead() == 0)
        // The model's own limit (12/s) never had to refuse a call; at the model, the calls keep to the
        // 10/s the replicas were given, give or take how late a loaded machine sends one.
        #expect(model.refused.isEmpty, "the model had to refuse \(model.refused.count) calls")
        #expect(model.arrivals.count == 200)
        // Within a second of jitter: a loaded CI machine held a released call back past 500 ms three
        // times in this session's runs (one call over). The span below holds the average to 10/s.
        #expect(Self.excess(model.arrivals, perSecond: 10, jitter: .seconds(1)) <= 0, "the model saw more calls than 10/s allows")
        let span = try #require(model.arrivals.max()) - (try #require(model.arrivals.min()))
        #expect(span >= .milliseconds(18_500), "200 calls at 10/s with a burst of 10 take 19 s at least: \(span)")
        let held = try await d.held()
        #expect(held["held_interactive", default: 0] > 0 && held["granted"] == 200, "\(held)")
        for replica in replicas { replica.signal(SIGTERM) }
        for replica in replicas { #expect(await replica.waitForExit() == 0) }
    }

    @Test func a429SeenByOneReplicaHoldsTheOthersUntilTheAdvisedTime() async throws {
        // The model's first call is refused with three seconds to wait; every other call is answered.
        let model = try await LimitedModel(perSecond: 1000) { call, _ in
            call == 1
                ? FakeService.answer(.tooManyRequests, #"{"error":{"message":"Rate limit reached"}}"#, headers: [.retryAfter: "3"]) : nil
        }
        let d = try await Deployment(model: model, conversations: 6, settings: ["RATE_LIMIT_GROQ": "1000/s"])
        let replicas = try (0..<3).map { _ in try d.consumer(concurrency: 2) }
        defer { for replica in replicas where replica.isRunning { replica.signal(SIGKILL) } }
        try await d.burst(1, conversations: 1)
        #expect(await eventually(timeout: .seconds(20)) { model.refused.count == 1 })
        let refusedAt = try #require(model.refused.first)
        // Six more guests, spread over the three replicas while the service is paused.
        try await d.burst(6, conversations: 6, firstID: 100)
        #expect(await eventually(timeout: .seconds(30)) { d.chatwoot.messages.count == 7 }, "\(replicas[1].log.suffix(1500))")
        let during = model.arrivals.filter { $0 > refusedAt && $0 - refusedAt < .milliseconds(2900) }
        #expect(during.isEmpty, "\(during.count) calls reached the model during the pause")
        #expect(model.refused.count == 1 && model.arrivals.count == 8, "one 429, then each message once: \(model.arrivals.count)")
        #expect(try await d.held()["pauses"] == 1)
        #expect(try await d.dead() == 0)
        // The operator sees it: the service, its limit, the pause and the calls it held back.
        let (status, table) = try await SwitchboardProcess.run(["queues"] + d.h.common)
        let row = table.split(separator: "\n").first { $0.hasPrefix("groq") }.map(String.init) ?? ""
        #expect(status == 0 && table.contains("LET THROUGH") && row.contains("1000/s") && row.contains("paused"), "\(table)")
        let (_, json) = try await SwitchboardProcess.run(["queues", "--json"] + d.h.common)
        let groq =
            ((jsonFields(Array(json.utf8))["services"] as? [[String: Any]]) ?? []).first { $0["service"] as? String == "groq" } ?? [:]
        #expect(groq["pauses"] as? Int == 1 && groq["letThrough"] as? Int == 8 && (groq["heldBack"] as? Int ?? 0) >= 1, "\(json)")
        for replica in replicas { replica.signal(SIGTERM) }
        for replica in replicas { #expect(await replica.waitForExit() == 0) }
    }

    @Test func throttlingNeverUsesUpTheRetryBudgetRealFailuresNeed() async throws {
        // Each message's first call fails with a 503 (a real failure); its second is answered.
        let failed = LockedValue<Set<String>>([])
        let model = try await LimitedModel(perSecond: 1000) { _, body in
            let question = ((jsonFields(body)["messages"] as? [[String: String]])?.last?["content"]) ?? ""
            let first = failed.withLock { $0.insert(question).inserted }
            return first ? FakeService.answer(.serviceUnavailable, #"{"error":{"message":"over capacity"}}"#) : nil
        }
        // Two attempts: one for the 503, one to answer. At 2 calls a second, ten guests are held back
        // over and over while they wait their turn.
        let d = try await Deployment(model: model, conversations: 10, settings: ["RATE_LIMIT_GROQ": "2/s", "RETRY_CHAT": "2/100ms/100ms"])
        let (consumer, metricsPort) = try await SwitchboardProcess.serving(environment: d.environment) { port in
            ["consumer"] + d.h.common + ["--queues", "retrieve,generate,reply", "--concurrency", "10", "--metrics-port", String(port)]
        }
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        try await d.burst(10, conversations: 10)
        #expect(await eventually(timeout: .seconds(60)) { d.chatwoot.messages.count == 10 }, "\(consumer.log.suffix(2000))")
        #expect(try await d.dead() == 0, "\(consumer.log.suffix(2000))")
        #expect(model.arrivals.count == 20, "each message failed once and was answered once")
        let held = try await d.held()
        #expect(held["held_interactive", default: 0] >= 10, "the burst was held back many times: \(held)")
        let metrics = await HTTPProbe.get(port: metricsPort, path: "/metrics")?.body ?? ""
        #expect(
            metrics.contains(#"switchboard_service_calls_held_total{service="groq",priority="interactive",reason="rate"}"#), "\(metrics)")
        #expect(metrics.contains(#"switchboard_jobs_total{queue="generate",outcome="throttled"}"#))
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }

    @Test func aLimitRaisedByARedeployReachesTheJobsAlreadyWaiting() async throws {
        let model = try await LimitedModel(perSecond: 1000)
        let d = try await Deployment(model: model, conversations: 10, settings: ["RATE_LIMIT_GROQ": "1/min"])
        let before = try d.consumer(concurrency: 4)
        defer { if before.isRunning { before.signal(SIGKILL) } }
        try await d.burst(10, conversations: 10)
        // One call a minute: the first guest is answered, the other nine wait their turn.
        #expect(await eventually(timeout: .seconds(20)) { d.chatwoot.messages.count == 1 })
        #expect(await eventually(timeout: .seconds(20)) { (try? await d.held()["held_interactive"]) ?? 0 >= 9 })
        before.signal(SIGTERM)
        #expect(await before.waitForExit() == 0)
        let redeployed = Date()
        let after = try d.consumer(["RATE_LIMIT_GROQ": "50/s"], concurrency: 4)
        defer { if after.isRunning { after.signal(SIGKILL) } }
        #expect(await eventually(timeout: .seconds(30)) { d.chatwoot.messages.count == 10 }, "\(after.log.suffix(1500))")
        #expect(Date().timeIntervalSince(redeployed) < 25, "the waiting jobs took the new limit, not one a minute")
        #expect(await eventually(timeout: .seconds(10)) { await d.idle() })
        #expect(d.chatwoot.messages.count == 10 && model.arrivals.count == 10)
        #expect(try await d.dead() == 0)
        after.signal(SIGTERM)
        #expect(await after.waitForExit() == 0)
    }

    @Test(arguments: [["RATE_LIMIT_GROQ": "fast"], ["CONCURRENCY_AZURE_STT": "0"], ["RATE_LIMIT_OPENAI": "5/s"]])
    func aMalformedLimitStopsTheConsumerAtStartNamingIt(_ setting: [String: String]) async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let (status, output) = try await SwitchboardProcess.run(
            ["consumer"] + h.common + ["--queues", "diagnostics"], environment: setting)
        #expect(status == 2, "a usage error")
        #expect(output.contains(setting.keys.first!), "\(output)")
    }
}
