import Foundation
import Redis
import Testing
import TestSupport

@Suite struct CommandLineTests {
    @Test func enqueueThenQueuesJSONShowsTheQueue() async throws {
        let server = try RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        try await h.enqueue(kind: "noop", payload: "{}", count: 5)
        let single = try await SwitchboardProcess.run(["enqueue"] + h.common + ["--kind", "fail", "--payload", #"{"times": 1}"#])
        #expect(single.status == 0)
        #expect(single.output.trimmingCharacters(in: .whitespacesAndNewlines).count == 26, "prints the job id")

        let result = try await SwitchboardProcess.run(["queues"] + h.common + ["--json"])
        #expect(result.status == 0)
        struct Output: Decodable {
            struct Queue: Decodable { var queue: String; var length: Int; var pending: Int; var delayed: Int; var dead: Int }
            var queues: [Queue]
        }
        let output = try JSONDecoder().decode(Output.self, from: Data(result.output.utf8))
        let diagnostics = try #require(output.queues.first { $0.queue == "diagnostics" })
        #expect(diagnostics.length == 6)
        #expect(diagnostics.pending == 0)
    }

    @Test func queuesTableListsConsumersWithIdleTimes() async throws {
        let server = try RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let consumer = try h.consumer()
        #expect(await eventually { (try? await h.consumerNames().count) == 1 })
        let table = try await SwitchboardProcess.run(["queues"] + h.common)
        #expect(table.status == 0)
        #expect(table.output.contains("QUEUE"))
        #expect(table.output.contains("diagnostics"))
        let name = try #require(try await h.consumerNames().first)
        #expect(table.output.contains("CONSUMER"))
        #expect(table.output.split(separator: "\n").contains { $0.hasPrefix("diagnostics") && $0.contains(name) })
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }

    @Test func badInputIsAUsageError() async throws {
        let notJSON = try await SwitchboardProcess.run(["enqueue", "--kind", "noop", "--payload", "{oops"])
        #expect(notJSON.status == 2)
        #expect(notJSON.output.contains("--payload must be a JSON object"))
        let badURL = try await SwitchboardProcess.run(["queues", "--redis", "http://nope"])
        #expect(badURL.status != 0)
        #expect(badURL.output.contains("redis://"))
    }

    @Test func unreachableRedisSaysWhere() async throws {
        let closed = try ClosedPort()
        let port = closed.port
        let result = try await SwitchboardProcess.run(["queues", "--redis", "redis://:secret@127.0.0.1:\(port)"])
        #expect(result.status == 3)
        #expect(result.output.contains("is Redis running"))
        #expect(result.output.contains("127.0.0.1:\(port)"))
        #expect(!result.output.contains("secret"))
        withExtendedLifetime(closed) {}
    }

    @Test(arguments: [
        ("consumer", ["--queues", "--concurrency", "--metrics-port", "--visibility-timeout", "--poison-limit", "--grace-period", "--redis", "--prefix"]),
        ("enqueue", ["--queue", "--kind", "--payload", "--count", "--max-attempts", "--redis", "--prefix"]),
        ("queues", ["show", "pause", "resume"]),
        ("queues show", ["--json", "--watch", "--interval", "--redis", "--prefix"]),
        ("queues pause", ["--redis", "--prefix", "<queue>"]),
        ("dead list", ["--queue", "--kind", "--error", "--since", "--limit", "--json"]),
        ("dead retry", ["--all", "--yes", "--queue", "--kind", "--error", "--since", "<ids>"]),
        ("dead drop", ["--all", "--yes", "--queue", "<ids>"]),
        ("dead export", ["--queue", "--kind", "--error", "--since"]),
        ("dead import", ["--file"]),
        ("bench", ["--jobs", "--concurrency", "--runs", "--single-jobs", "--rate", "--latency-seconds", "--redis"]),
    ])
    func helpIsComplete(_ command: String, _ options: [String]) async throws {
        let result = try await SwitchboardProcess.run(command.split(separator: " ").map(String.init) + ["--help"])
        #expect(result.status == 0)
        for option in options { #expect(result.output.contains(option), "\(command) --help lacks \(option)") }
    }
}

@Suite struct MonitoringTests {
    @Test func metricsHealthAndReadiness() async throws {
        let server = try RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let port = try FreePort.find()
        let consumer = try SwitchboardProcess(["consumer"] + h.common + ["--metrics-port", String(port)])
        #expect(await eventually { HTTPProbe.get(port: port, path: "/healthz")?.status == 200 })
        #expect(HTTPProbe.get(port: port, path: "/readyz")?.status == 200)
        try await h.enqueue(kind: "noop", payload: "{}", count: 3)
        try await h.enqueue(kind: "fail", payload: #"{"permanent": true}"#)
        #expect(await eventually {
            let body = HTTPProbe.get(port: port, path: "/metrics")?.body ?? ""
            return body.contains(#"switchboard_jobs_total{queue="diagnostics",outcome="done"} 3"#)
                && body.contains(#"switchboard_dead_letters_total{queue="diagnostics"} 1"#)
        })
        let body = HTTPProbe.get(port: port, path: "/metrics")?.body ?? ""
        #expect(body.contains("switchboard_job_duration_seconds_bucket"))
        #expect(body.contains("switchboard_jobs_in_flight"))
        server.stop(graceful: false)
        #expect(await eventually { HTTPProbe.get(port: port, path: "/readyz")?.status == 503 })
        #expect(HTTPProbe.get(port: port, path: "/healthz")?.status == 200)
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }

    @Test func evictingRedisIsWarnedAboutAtStartUp() async throws {
        let server = try RedisServer(extraArguments: ["--maxmemory-policy", "allkeys-lru"])
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let consumer = try h.consumer()
        #expect(await eventually { consumer.log.contains("maxmemory-policy is 'allkeys-lru'") })
        #expect(consumer.log.contains("critical"))
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }
}
