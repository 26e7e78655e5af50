import Foundation
import Redis
import TestSupport
import Testing

/// `switchboard autoscale` as a process against a real Redis and a Docker Engine that speaks the
/// Engine API's contract on a Unix socket (the real Engine is the Swarm test's).
@Suite struct AutoscaleProcessTests {
    static func labels(min: Int, max: Int, queues: String, target: String, cooldown: String = "2s") -> [String: String] {
        [
            "switchboard.autoscale.min": "\(min)", "switchboard.autoscale.max": "\(max)", "switchboard.autoscale.queues": queues,
            "switchboard.autoscale.target": target, "switchboard.autoscale.cooldown": cooldown,
        ]
    }

    /// Whether `process` logs `text` within a bound: the Engine records a change before the
    /// process's log line about it is written and read back.
    static func logged(_ text: String, _ process: SwitchboardProcess) async -> Bool {
        await eventually(timeout: .seconds(10)) { process.log.contains(text) }
    }

    static func autoscaler(_ h: ProcessHarness, _ engine: FakeDockerEngine, _ extra: [String] = []) throws -> SwitchboardProcess {
        try SwitchboardProcess(
            ["autoscale"] + h.common + ["--interval", "2", "--lease", "5", "--engine-timeout", "2", "--metrics-port", "0"] + extra,
            environment: ["DOCKER_HOST": "unix://" + engine.socket])
    }

    /// A backlog past its target takes the service from 1 to its max; drained, it returns to min
    /// after the cool-down; a `min: 0` service wakes when work arrives and sleeps again.
    @Test func upUnderABacklogDownWhenIdleAndASleeperWakes() async throws {
        let h = ProcessHarness(server: try await RedisServer())
        let engine = try await FakeDockerEngine([
            .init(name: "s_diagnostics", labels: Self.labels(min: 1, max: 4, queues: "diagnostics", target: "2s"), replicas: 1),
            .init(name: "s_backups", labels: Self.labels(min: 0, max: 2, queues: "backups", target: "1m"), replicas: 0),
            .init(name: "s_other", labels: ["unrelated": "yes"], replicas: 3),
        ])
        let (autoscaler, metricsPort) = try await SwitchboardProcess.serving(environment: ["DOCKER_HOST": "unix://" + engine.socket]) {
            ["autoscale"] + h.common + ["--interval", "2", "--lease", "5", "--engine-timeout", "2", "--metrics-port", String($0)]
        }
        defer { autoscaler.signal(SIGKILL) }
        try await h.enqueue(kind: "sleep", payload: #"{"ms": 20}"#, count: 200)
        let began = ContinuousClock.now
        #expect(
            await eventually(timeout: .seconds(30)) { engine.replicas("s_diagnostics") == 4 },
            "\(engine.updates.value)\n\(autoscaler.log.suffix(3000))")
        let rose = ContinuousClock.now - began
        #expect(engine.updates.value.map(\.0).allSatisfy { $0 == "s_diagnostics" })
        #expect(engine.updates.value.map(\.1) == [2, 4], "doubling while no rate is measured, never past max")
        #expect(await Self.logged("reason=over_target", autoscaler), "\(autoscaler.log.suffix(2000))")
        print("1 → 4 replicas in \(rose) (target 2 s, interval 2 s)")
        // The counters move once the Engine has answered: read until they show the second change.
        var scraped = ""
        func counted() -> Bool {
            let decisions = scraped.split(separator: "\n").filter {
                $0.hasPrefix("switchboard_autoscale_decisions_total{") && $0.contains(#"service="s_diagnostics""#)
                    && $0.contains(#"reason="over_target""#) && $0.contains(#"direction="up""#)
            }
            return decisions.count == 1 && decisions[0].hasSuffix(" 2")
                && scraped.contains(#"switchboard_autoscale_replicas{service="s_diagnostics"} 4"#)
                && scraped.contains("switchboard_autoscale_leader 1")
        }
        #expect(
            await eventually(timeout: .seconds(10)) {
                scraped = (try? await LoopbackHTTP.send(port: metricsPort, method: "GET", path: "/metrics").text) ?? ""
                return counted()
            }, "\(scraped)")

        // A job for the sleeping service wakes it.
        try await h.enqueue(kind: "backup.snapshot", payload: "{}")
        #expect(await eventually(timeout: .seconds(20)) { engine.replicas("s_backups") == 1 }, "\(autoscaler.log.suffix(2000))")
        #expect(await Self.logged("reason=woken", autoscaler))

        // Drained by a real consumer, then idle past the cool-down: back to min, and to sleep.
        let consumer = try h.consumer(["--queues", "diagnostics", "--concurrency", "50"])
        #expect(await eventually(timeout: .seconds(30)) { (try? await h.integer("XLEN", h.key("diagnostics:stream"))) == 0 })
        consumer.signal(SIGTERM)
        _ = await consumer.waitForExit()
        try await h.client.send("DEL", h.key("backups:stream"))
        #expect(
            await eventually(timeout: .seconds(30)) { engine.replicas("s_diagnostics") == 1 && engine.replicas("s_backups") == 0 },
            "\(engine.updates.value)\n\(autoscaler.log.suffix(2000))")
        #expect(await Self.logged("reason=idle", autoscaler))
        #expect(engine.replicas("s_other") == 3, "a service without the labels is never touched")

        // The console's and --status's view.
        let status = try await SwitchboardProcess.run(["autoscale", "--status"] + h.common)
        #expect(status.status == 0 && status.output.contains("s_diagnostics") && status.output.contains("1-4"), "\(status.output)")

        // Removed while it runs: dropped from the decisions, nothing else changes.
        engine.change { $0.removeAll { $0.name == "s_backups" } }
        #expect(
            await eventually(timeout: .seconds(20)) {
                let shown = try? await SwitchboardProcess.run(["autoscale", "--status"] + h.common)
                return shown?.output.contains("s_diagnostics") == true && shown?.output.contains("s_backups") == false
            })
        #expect(!autoscaler.log.contains("error"), "\(autoscaler.log.suffix(2000))")
        autoscaler.signal(SIGTERM)
        #expect(await autoscaler.waitForExit(timeout: .seconds(10)) == 0, "\(autoscaler.log.suffix(1000))")
    }

    /// Redis stopped: no decision, whatever the services show; back, the decisions resume. An
    /// Engine that hangs is waited for with a bound and asked again only at the next interval.
    @Test func noDecisionWithoutRedisOrTheEngine() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        let engine = try await FakeDockerEngine([
            .init(name: "s_llm", labels: Self.labels(min: 1, max: 3, queues: "retrieve,generate", target: "10s"), replicas: 1)
        ])
        let autoscaler = try Self.autoscaler(h, engine)
        defer { autoscaler.signal(SIGKILL) }
        #expect(await eventually(timeout: .seconds(20)) { autoscaler.log.contains("autoscaler started") }, "\(autoscaler.log)")
        server.stop()
        engine.change { $0[0].replicas = 0 }
        #expect(
            await eventually(timeout: .seconds(20)) { autoscaler.log.contains("no decision: Redis cannot be read") },
            "\(autoscaler.log.suffix(2000))")
        let waited = engine.updates.value.count
        try await Task.sleep(for: .seconds(5))  // two intervals with Redis down: nothing may change in them
        #expect(engine.updates.value.count == waited && engine.replicas("s_llm") == 0)
        try await server.restart()
        #expect(
            await eventually(timeout: .seconds(30)) { engine.replicas("s_llm") == 1 }, "\(autoscaler.log.suffix(2000))")
        #expect(await Self.logged("reason=below_min", autoscaler))

        engine.hang.set(true)
        let asked = engine.requests.count
        engine.change { $0[0].replicas = 0 }
        #expect(
            await eventually(timeout: .seconds(20)) { autoscaler.log.contains("no decision: the Docker Engine did not answer") },
            "\(autoscaler.log.suffix(2000))")
        try await Task.sleep(for: .seconds(6))  // how often a hung Engine is asked is what is measured here
        #expect(engine.requests.count - asked <= 4, "a hung Engine is asked once an interval, not in a loop")
        engine.hang.set(false)
        #expect(await eventually(timeout: .seconds(30)) { engine.replicas("s_llm") == 1 }, "\(autoscaler.log.suffix(2000))")
        autoscaler.signal(SIGTERM)
        #expect(await autoscaler.waitForExit(timeout: .seconds(10)) == 0)
    }

    /// Two autoscalers: one decides; killed, the other takes over once the lease runs out.
    @Test func twoAutoscalersOneActs() async throws {
        let h = ProcessHarness(server: try await RedisServer())
        let engine = try await FakeDockerEngine([
            .init(name: "s_llm", labels: Self.labels(min: 2, max: 3, queues: "retrieve", target: "10s"), replicas: 0)
        ])
        let first = try Self.autoscaler(h, engine)
        let second = try Self.autoscaler(h, engine)
        defer {
            first.signal(SIGKILL)
            second.signal(SIGKILL)
        }
        #expect(await eventually(timeout: .seconds(20)) { engine.replicas("s_llm") == 2 })
        try await Task.sleep(for: .seconds(3))  // both have had an interval to act: one may
        #expect(await eventually(timeout: .seconds(10)) { [first, second].contains { $0.log.contains("reason=below_min") } })
        let acted = [first, second].filter { $0.log.contains("reason=below_min") }
        #expect(engine.updates.value.count == 1, "\(engine.updates.value)")
        try #require(acted.count == 1, "\(acted.count) autoscalers acted")
        let leader = acted[0]
        let other = leader.pid == first.pid ? second : first
        leader.signal(SIGKILL)
        _ = await leader.waitForExit()
        engine.change { $0[0].replicas = 0 }
        #expect(await eventually(timeout: .seconds(20)) { engine.replicas("s_llm") == 2 }, "\(other.log.suffix(2000))")
        #expect(await Self.logged("reason=below_min", other))
    }

    /// Labels that make no sense: refused at start, naming the service; an Engine not there: said.
    @Test func nonsenseAtStartIsRefusedNamingTheService() async throws {
        let h = ProcessHarness(server: try await RedisServer())
        let engine = try await FakeDockerEngine([
            .init(name: "s_llm", labels: Self.labels(min: 1, max: 3, queues: "retrieve", target: "10s"), replicas: 1),
            .init(name: "s_bad", labels: Self.labels(min: 5, max: 2, queues: "retrieve", target: "10s"), replicas: 1),
        ])
        let refused = try await SwitchboardProcess.run(
            ["autoscale"] + h.common + ["--metrics-port", "0"], environment: ["DOCKER_HOST": "unix://" + engine.socket])
        #expect(refused.status == 2 && refused.output.contains("service s_bad: switchboard.autoscale.min 5 is above"), "\(refused.output)")
        #expect(engine.updates.value.isEmpty)
        let wrongHost = try await SwitchboardProcess.run(
            ["autoscale"] + h.common + ["--metrics-port", "0"], environment: ["DOCKER_HOST": "ssh://manager"])
        #expect(wrongHost.status != 0 && wrongHost.output.contains("DOCKER_HOST 'ssh://manager'"), "\(wrongHost.output)")
    }
}
