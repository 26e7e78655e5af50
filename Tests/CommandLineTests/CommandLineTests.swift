import Foundation
import Redis
import TestSupport
import Testing

@Suite struct CommandLineTests {
    @Test func enqueueThenQueuesJSONShowsTheQueue() async throws {
        let server = try await RedisServer()
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

    /// `flows` prints the stage graph the consumer runs, as a table and as JSON, with no Redis;
    /// the consumer's --help is made from the same table.
    @Test func flowsListsTheStageGraph() async throws {
        let table = try await SwitchboardProcess.run(["flows"], environment: ["NO_COLOR": "1"])
        #expect(table.status == 0, "\(table.output)")
        let rows = table.output.split(separator: "\n")
        #expect(
            rows.contains {
                $0.hasPrefix("chat ") && $0.contains("chat.retrieve (entry)") && $0.contains("retrieve") && $0.contains("chat.generate")
            })
        #expect(rows.contains { $0.hasPrefix("backups ") && $0.contains("backup.database (entry)") && $0.contains("dumps") })
        #expect(rows.contains { $0.hasPrefix("dumps ") && $0.contains("DATABASE_URL") })
        let json = try await SwitchboardProcess.run(["flows", "--json"])
        let stages = (try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])?["stages"] as? [[String: Any]] ?? []
        let kinds = Set(stages.compactMap { $0["kind"] as? String })
        #expect(
            kinds.isSuperset(of: [
                "chat.retrieve", "chat.generate", "chat.reply", "voice.transcribe", "call.download", "booking.vectorize", "noop",
                "blobs.sweep",
            ]))
        let reply = stages.first { $0["kind"] as? String == "chat.reply" }
        #expect(reply?["queue"] as? String == "reply" && reply?["flow"] as? String == "chat" && (reply?["next"] as? [String]) == [])
        let help = try await SwitchboardProcess.run(["consumer", "--help"])
        #expect(help.output.contains("chat.retrieve (retrieve) → chat.generate"), "\(help.output)")
    }

    @Test func queuesTableListsConsumersWithIdleTimes() async throws {
        let server = try await RedisServer()
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

    /// A job put where no consumer will ever run it, an attempt budget of nothing, a prefix that
    /// breaks the hash tag or the scans: refused before anything is written, exit 2, saying why.
    @Test func enqueueRefusesWhatNoConsumerCouldRun() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let wrongQueue = try await SwitchboardProcess.run(["enqueue"] + h.common + ["--kind", "chat.retrieve", "--queue", "generate"])
        #expect(
            wrongQueue.status == 2 && wrongQueue.output.contains("kind 'chat.retrieve' runs on queue 'retrieve'"), "\(wrongQueue.output)")
        let nowhere = try await SwitchboardProcess.run(["enqueue"] + h.common + ["--kind", "mystery", "--queue", "nowhere"])
        #expect(nowhere.status == 2 && nowhere.output.contains("no job kind of this build runs on queue 'nowhere'"), "\(nowhere.output)")
        #expect(nowhere.output.contains("retrieve") && nowhere.output.contains("diagnostics"), "names the queues there are")
        let noAttempts = try await SwitchboardProcess.run(["enqueue"] + h.common + ["--kind", "noop", "--max-attempts", "0"])
        #expect(noAttempts.status == 2 && noAttempts.output.contains("--max-attempts must be at least 1"))
        for prefix in ["", "a{b", "sw}", "sw*", "with space"] {
            let result = try await SwitchboardProcess.run(["enqueue", "--redis", server.url, "--prefix", prefix, "--kind", "noop"])
            #expect(result.status == 2 && result.output.contains("key prefix"), "'\(prefix)': \(result.output)")
        }
        let fromEnvironment = try await SwitchboardProcess.run(
            ["queues", "--redis", server.url], environment: ["SWITCHBOARD_PREFIX": "{x}"])
        #expect(fromEnvironment.status == 2 && fromEnvironment.output.contains("SWITCHBOARD_PREFIX"))
        let stray = try await server.command("KEYS", "*")
        #expect(stray.array?.isEmpty == true, "nothing was written: \(stray)")
        // A kind that is not in the catalogue still goes on a real queue, with a warning (to test dead-lettering).
        let unknown = try await SwitchboardProcess.run(["enqueue"] + h.common + ["--kind", "mystery", "--queue", "diagnostics"])
        #expect(unknown.status == 0 && unknown.output.contains("warning"))
    }

    /// A clumsy operator's numbers on the roles' options: each is refused at start, exit 2, naming
    /// the option, before anything is started (a concurrency of millions once started as many
    /// threads and took the machine's last ones).
    @Test(arguments: [
        (["consumer", "--concurrency", "2000000"], "--concurrency must be 1-1000"),
        (["consumer", "--concurrency", "0"], "--concurrency must be 1-1000"),
        (["consumer", "--visibility-timeout", "1e300"], "--visibility-timeout must be"),
        (["consumer", "--grace-period=-1"], "--grace-period must be"),
        (["producer", "--max-connections", "0"], "--max-connections must be"),
        (["producer", "--request-timeout", "nan"], "--request-timeout must be"),
        (["producer", "--redis-wait", "nan"], "--redis-wait must be 0-60 seconds"),
        (["producer", "--redis-wait", "1e309"], "--redis-wait must be 0-60 seconds"),
        (["scheduler", "--lease", "99999999"], "--lease must be"),
    ])
    func hostileOptionNumbersAreRefusedAtStart(_ arguments: [String], _ message: String) async throws {
        let closed = try ClosedPort()
        let result = try await SwitchboardProcess.run(arguments + ["--redis", "redis://127.0.0.1:\(closed.port)"], timeout: .seconds(20))
        #expect(result.status == 2 && result.output.contains(message), "\(arguments): \(result.status) \(result.output.suffix(300))")
    }

    @Test func aRedisThatWantsAPasswordIsExit3SayingSo() async throws {
        let server = try await RedisServer(extraArguments: ["--requirepass", "s3cret-pw"])
        let none = try await SwitchboardProcess.run(["queues", "--redis", server.url])
        #expect(none.status == 3 && none.output.contains("password"), "\(none.output)")
        let wrong = try await SwitchboardProcess.run(["queues", "--redis", "redis://:wrong-pw@127.0.0.1:\(server.port)"])
        #expect(wrong.status == 3 && !wrong.output.contains("wrong-pw"), "\(wrong.output)")
        let right = try await SwitchboardProcess.run(["queues", "--redis", "redis://:s3cret-pw@127.0.0.1:\(server.port)"])
        #expect(right.status == 0, "\(right.output)")
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
        (
            "consumer",
            [
                "--queues", "--concurrency", "--metrics-port", "--visibility-timeout", "--poison-limit", "--grace-period", "--redis",
                "--prefix",
            ]
        ),
        ("enqueue", ["--queue", "--kind", "--payload", "--count", "--max-attempts", "--redis", "--prefix"]),
        ("queues", ["show", "pause", "resume"]),
        ("queues show", ["--json", "--watch", "--interval", "--redis", "--prefix"]),
        ("queues pause", ["--redis", "--prefix", "<queue>"]),
        ("dead list", ["--queue", "--kind", "--error", "--since", "--limit", "--json"]),
        ("dead retry", ["--all", "--yes", "--queue", "--kind", "--error", "--since", "<ids>"]),
        ("dead drop", ["--all", "--yes", "--queue", "<ids>"]),
        ("dead export", ["--queue", "--kind", "--error", "--since"]),
        ("dead import", ["--file"]),
    ])
    func helpIsComplete(_ command: String, _ options: [String]) async throws {
        let result = try await SwitchboardProcess.run(command.split(separator: " ").map(String.init) + ["--help"])
        #expect(result.status == 0)
        for option in options { #expect(result.output.contains(option), "\(command) --help lacks \(option)") }
    }

    /// The benchmarks live in their own executable, with the flags they always had; the production
    /// binary has none of them.
    @Test func theBenchmarksAreOutOfTheProductionBinary() async throws {
        let bench = SwitchboardProcess.executable.deletingLastPathComponent().appendingPathComponent("switchboardbench").path
        for (command, options) in [
            ("engine", ["--jobs", "--concurrency", "--runs", "--single-jobs", "--rate", "--latency-seconds", "--redis", "--job-body"]),
            ("limits", ["--calls", "--concurrency", "--seconds", "--runs", "--redis"]),
            ("gauges", ["--jobs", "--reads", "--redis"]), ("baseline", ["--host", "--port", "--redis"]),
        ] {
            let help = try await ChildProcess.run(bench, [command, "--help"], timeout: .seconds(30))
            #expect(help.status == 0, "\(command): \(help.stderr)")
            for option in options { #expect(help.stdout.contains(option), "switchboardbench \(command) --help lacks \(option)") }
        }
        for gone in ["bench", "bench-limits", "bench-gauges", "bench-baseline"] {
            let run = try await SwitchboardProcess.run([gone])
            #expect(
                run.status == 2 && run.output.contains("Unexpected argument '\(gone)'"), "switchboard \(gone) is still there: \(run.output)"
            )
        }
    }

    /// The engine benchmark drains every job with either job body: with `none` the handler counts
    /// in the process instead of in Redis, and the run still ends when the last job is counted.
    @Test(arguments: ["incr", "none"])
    func theEngineBenchmarkDrainsItsJobsWithEitherBody(_ body: String) async throws {
        let server = try await RedisServer()
        let bench = SwitchboardProcess.executable.deletingLastPathComponent().appendingPathComponent("switchboardbench").path
        let run = try await ChildProcess.run(
            bench,
            [
                "engine", "--redis", server.url, "--jobs", "300", "--concurrency", "8", "--single-jobs", "0", "--rate", "0",
                "--job-body", body,
            ], timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("job body \(body)"), "\(run.stdout)")
        #expect(run.stdout.contains("run 1: ") && run.stdout.contains(" jobs/s, worker CPU "), "\(run.stdout)")
        let left = try await server.command("DBSIZE")
        #expect(left.integer == 0, "the benchmark left keys behind")
    }
}

@Suite struct MonitoringTests {
    /// Two processes drawn to one port: the second cannot bind it and exits, but until it does the
    /// port answers its probe all the same — the other's. Ready means holding the socket.
    @Test func aPortAnsweredByAnotherProcessIsNotServedByThisOne() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let (first, port) = try await SwitchboardProcess.serving { ["consumer"] + h.common + ["--metrics-port", String($0)] }
        let second = try SwitchboardProcess(["consumer"] + h.common + ["--metrics-port", String(port)])
        #expect(await HTTPProbe.get(port: port, path: "/healthz")?.status == 200)
        #expect(await second.serves(on: port) == false)
        #expect(await first.serves(on: port))
        let refused = await second.waitForExit(timeout: .seconds(20))
        #expect(refused != nil && refused != 0, "\(second.log.suffix(1000))")
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)
    }

    @Test func metricsHealthAndReadiness() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let (consumer, port) = try await SwitchboardProcess.serving { ["consumer"] + h.common + ["--metrics-port", String($0)] }
        #expect(await HTTPProbe.get(port: port, path: "/readyz")?.status == 200)
        try await h.enqueue(kind: "noop", payload: "{}", count: 3)
        try await h.enqueue(kind: "fail", payload: #"{"permanent": true}"#)
        #expect(
            await eventually {
                let body = await HTTPProbe.get(port: port, path: "/metrics")?.body ?? ""
                return body.contains(#"switchboard_jobs_total{queue="diagnostics",outcome="done"} 3"#)
                    && body.contains(#"switchboard_dead_letters_total{queue="diagnostics"} 1"#)
            })
        let body = await HTTPProbe.get(port: port, path: "/metrics")?.body ?? ""
        #expect(body.contains("switchboard_job_duration_seconds_bucket"))
        #expect(body.contains("switchboard_jobs_in_flight"))
        server.stop(graceful: false)
        #expect(await eventually { await HTTPProbe.get(port: port, path: "/readyz")?.status == 503 })
        #expect(await HTTPProbe.get(port: port, path: "/healthz")?.status == 200)
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }

    /// What a crash of Redis would lose is said at start, on /readyz and as a gauge, so an
    /// operator running Chatwoot's Redis without AOF learns it before losing a queue; critical only
    /// when a restart loses queues, a notice for the one second `everysec` (the README's setting) costs.
    @Test(arguments: [
        (["--appendonly", "no", "--save", ""], "none", "critical"),
        (["--appendonly", "yes", "--appendfsync", "everysec"], "aof-everysec", "notice"),
        (["--appendonly", "yes", "--appendfsync", "no"], "aof-no", "warning"),
        (["--appendonly", "no", "--save", "900 1"], "rdb", "critical"),
        (["--appendonly", "yes", "--appendfsync", "always"], "aof-always", "info"),
    ])
    func redisDurabilityIsToldAtStartOnReadyzAndAsAGauge(_ settings: [String], _ mode: String, _ level: String) async throws {
        let server = try await RedisServer(extraArguments: settings)
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let (consumer, port) = try await SwitchboardProcess.serving { ["consumer"] + h.common + ["--metrics-port", String($0)] }
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        #expect(await eventually { consumer.log.contains("Redis durability") })
        let line = consumer.log.split(separator: "\n").first { $0.contains("Redis durability") }.map(String.init) ?? ""
        #expect(line.contains(" \(level) ") && line.contains("redis.persistence=\(mode)"), "\(line)")
        for other in ["critical", "warning", "notice"] where other != level { #expect(!line.contains(" \(other) "), "\(line)") }
        #expect(await eventually { await HTTPProbe.get(port: port, path: "/readyz")?.body.contains("durability \(mode)") == true })
        #expect(
            await HTTPProbe.get(port: port, path: "/metrics")?.body.contains(#"switchboard_redis_persistence{mode="\#(mode)"} 1"#) == true)
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }

    /// A Redis that does not answer at start (stalled) costs a role one command timeout, not one
    /// per check: the checks that would each wait it out are skipped, saying so, and the role starts.
    @Test func aStalledRedisAtStartSkipsTheChecksInsteadOfWaitingOutEach() async throws {
        let server = try await RedisServer()
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let stall = server.stall(for: .seconds(40))
        defer { stall.cancel() }
        let probe = RedisClient(endpoint: server.endpoint, commandTimeout: .milliseconds(100))
        defer { probe.close() }
        #expect(await eventually { (try? await probe.send("PING")) == nil }, "Redis never stalled")
        let consumer = try h.consumer()
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        #expect(await eventually(timeout: .seconds(30)) { consumer.log.contains("consumer started") }, "\(consumer.log)")
        let beforeStart = consumer.log.components(separatedBy: "consumer started")[0]
        #expect(beforeStart.contains("settings go unchecked"), "\(beforeStart)")
        #expect(beforeStart.components(separatedBy: "timed out").count - 1 == 1, "one command timeout before starting: \(beforeStart)")
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit(timeout: .seconds(30)) == 0, "\(consumer.log.suffix(1500))")
    }

    /// Also a SIGTERM in the middle of start-up: the warning is logged by the start-up checks, before
    /// the service group handles signals, and the signal right after it once killed the process
    /// (exit by signal 15, about one run in six). Each role exits 0 however early it is stopped.
    @Test func evictingRedisIsWarnedAboutAtStartUpAndAStopThenEndsItCleanly() async throws {
        let server = try await RedisServer(extraArguments: ["--maxmemory-policy", "allkeys-lru"])
        let h = ProcessHarness(server: server)
        defer { h.client.close() }
        let schedule = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-schedule-\(UUID().uuidString).json")
        try #"[{"name": "smoke", "cron": "@every 1h", "kind": "noop"}]"#.write(to: schedule, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: schedule) }
        for role in [
            "consumer", "consumer", "consumer", "consumer", "scheduler", "scheduler", "producer", "producer", "console", "console",
        ] {
            let process: SwitchboardProcess
            switch role {
            case "consumer": process = try h.consumer()
            case "scheduler":
                process = try SwitchboardProcess(["scheduler"] + h.common + ["--metrics-port", "0", "--schedule", schedule.path])
            case "producer":
                process = try SwitchboardProcess(["producer"] + h.common + ["--host", "127.0.0.1", "--port", String(try FreePort.find())])
            default: process = try SwitchboardProcess(["console"] + h.common + ["--port", String(try FreePort.find())])
            }
            defer { if process.isRunning { process.signal(SIGKILL) } }
            #expect(await eventually { process.log.contains("maxmemory-policy is 'allkeys-lru'") }, "\(role): \(process.log.suffix(800))")
            #expect(process.log.contains("critical"))
            process.signal(SIGTERM)
            let status = await process.waitForExit()
            #expect(status == 0, "\(role) exit \(String(describing: status)): \(process.log.suffix(1500))")
        }
    }
}
