import Foundation
import TestSupport
import Testing

/// The consumer's gauges as Debian's real Prometheus sees them: scraped over loopback, read back
/// through Prometheus' HTTP API, with Switchboard's alert rules loaded and the dashboard's queries
/// evaluated against what was scraped.
@Suite(.serialized) struct PrometheusScrapeTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func prometheusScrapesTheQueueGaugesOfAConsumer() async throws {
        let h = ProcessHarness(server: try await RedisServer())
        defer { h.client.close() }
        let (consumer, metricsPort) = try await SwitchboardProcess.serving { port in
            ["consumer"] + h.common + ["--queues", "diagnostics", "--metrics-port", String(port)]
        }
        // Three jobs that fail for good: three dead letters on diagnostics.
        try await h.enqueue(kind: "fail", payload: #"{"permanent": true}"#, count: 3)
        #expect(await eventually { (try? await h.integer("XLEN", h.key("diagnostics:dead"))) == 3 })
        try await h.client.send("SADD", h.key("paused"), "blobs")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-prometheus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let rules = Self.repository.appendingPathComponent("deploy/prometheus/alerts.yml").path
        try """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files: ["\(rules)"]
        scrape_configs:
          - job_name: switchboard
            static_configs:
              - targets: ["127.0.0.1:\(metricsPort)"]
        """.write(to: folder.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        let port = try FreePort.find()
        let prometheus = try ChildProcess(
            "/usr/bin/prometheus",
            [
                "--config.file=\(folder.path)/prometheus.yml", "--storage.tsdb.path=\(folder.path)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ], stdout: .capture, mergeStandardError: true)
        defer { prometheus.signal(SIGKILL) }

        func query(_ expression: String) async -> [String: Any]? {
            var components = URLComponents()
            components.path = "/api/v1/query"
            components.queryItems = [URLQueryItem(name: "query", value: expression)]
            guard let path = components.string, let reply = await HTTPProbe.get(port: port, path: path), reply.status == 200 else {
                return nil
            }
            return jsonFields(Array(reply.body.utf8))
        }
        func value(_ expression: String) async -> String? {
            let result = (await query(expression)?["data"] as? [String: Any])?["result"] as? [[String: Any]]
            return (result?.first?["value"] as? [Any])?.last as? String
        }

        #expect(
            await eventually(timeout: .seconds(60), every: .milliseconds(250)) {
                await value(#"switchboard_queue_dead{queue="diagnostics"}"#) == "3"
            },
            "\(prometheus.standardOutput.suffix(2000))")
        #expect(await value(#"switchboard_queue_paused{queue="blobs"}"#) == "1")
        #expect(await value(#"switchboard_queue_consumers{queue="diagnostics"}"#) == "1")
        #expect(await value("switchboard_redis_up") == "1")
        #expect(await value(#"sum(switchboard_jobs_total{queue="diagnostics", outcome="dead"})"#) == "3")

        // The rules load and evaluate in the real Prometheus.
        let ruleReply = try #require(await HTTPProbe.get(port: port, path: "/api/v1/rules"))
        let groups = ((jsonFields(Array(ruleReply.body.utf8))["data"] as? [String: Any])?["groups"] as? [[String: Any]]) ?? []
        let loaded = groups.flatMap { ($0["rules"] as? [[String: Any]]) ?? [] }
        #expect(loaded.count == 8, "\(ruleReply.body)")
        #expect(loaded.allSatisfy { $0["health"] as? String != "err" }, "\(ruleReply.body)")

        // Every query of the dashboard is valid PromQL over what was scraped.
        let dashboard =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: Self.repository.appendingPathComponent("deploy/grafana/switchboard.json"))) as? [String: Any]
        let expressions = ((dashboard?["panels"] as? [[String: Any]]) ?? []).flatMap { ($0["targets"] as? [[String: Any]]) ?? [] }
            .compactMap { $0["expr"] as? String }
        #expect(expressions.count >= 10)
        for expression in expressions {
            #expect(await query(expression)?["status"] as? String == "success", "\(expression)")
        }
        #expect(await value(#"max by (queue) (switchboard_queue_dead{queue="diagnostics"})"#) == "3")

        prometheus.signal(SIGTERM)
        #expect(await prometheus.wait(timeout: .seconds(20)) != nil)
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }
}
