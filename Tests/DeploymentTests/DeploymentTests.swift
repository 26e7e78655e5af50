import Autoscale
import Blobs
import Foundation
import Jobs
import Queue
import Scheduler
import Services
import TestSupport
import Testing

/// docker-compose.yml and stack.yml, checked without a Docker engine: rendered by the docker CLI
/// (`docker stack config`) and docker-compose (`config`), then held to our own rules.
@Suite struct DeploymentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// What an operator must give `docker stack deploy` (the steps of docs/deploying.md set each).
    static let stackSettings = [
        "SWITCHBOARD_IMAGE": "registry.example.com/switchboard:1.0.0", "SWITCHBOARD_HOST": "hooks.example.com",
        "CHATWOOT_NETWORK": "chatwoot_default", "TRAEFIK_NETWORK": "traefik-public", "CHATWOOT_ACCOUNT_ID": "1", "SCHEDULE_VERSION": "3",
        "BLOB_STORE": "s3://switchboard-audio/audio", "BLOB_S3_ENDPOINT": "https://account.r2.cloudflarestorage.com",
        "BLOB_S3_ACCESS_KEY_ID": "key-id", "BACKUP_SERVER_SELECTOR": "role=chatwoot",
        "R2_ENDPOINT": "https://account.r2.cloudflarestorage.com", "R2_BUCKET": "chatwoot-backups", "R2_ACCESS_KEY_ID": "backup-key-id",
        "ATTACHMENTS_S3_ENDPOINT": "https://account.r2.cloudflarestorage.com", "ATTACHMENTS_S3_BUCKET": "chatwoot-storage",
        "ATTACHMENTS_S3_ACCESS_KEY_ID": "storage-key-id",
        "SWITCHBOARD_CONSOLE_HOST": "switchboard.example.com", "CONSOLE_OIDC_ISSUER": "https://sso.example.com/realms/hosting",
    ]

    /// Runs a tool to completion without holding a thread of the cooperative pool (two here): a
    /// blocking wait for `docker stack config` under load stalled every other test for seconds.
    static func run(_ executable: String, _ arguments: [String], input: String? = nil, settings: [String: String] = [:]) async throws
        -> Output
    {
        var environment = ProcessInfo.processInfo.environment
        for name in stackSettings.keys { environment.removeValue(forKey: name) }
        environment.merge(settings) { $1 }
        let result = try await ChildProcess.run(executable, arguments, environment: environment, directory: root.path, input: input ?? "")
        return Output(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    static func which(_ name: String) -> String? {
        ["/usr/local/bin/\(name)", "/usr/bin/\(name)"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// YAML → JSON through python3-yaml (the test's only YAML reader; Swift has none in our dependency set).
    static func json(fromYAML yaml: String) async throws -> [String: Any] {
        let converted = try await run(
            "/usr/bin/python3", ["-c", "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], input: yaml)
        guard converted.status == 0, let object = try JSONSerialization.jsonObject(with: Data(converted.stdout.utf8)) as? [String: Any]
        else {
            throw TestFailure("YAML did not convert: \(converted.stderr)")
        }
        return object
    }

    static func rendered(_ file: String) async throws -> [String: Any] {
        let output: Output
        if file == "stack.yml" {
            let docker = try #require(which("docker"))
            output = try await run(docker, ["stack", "config", "-c", file], settings: stackSettings)
        } else {
            let compose = try #require(which("docker-compose"))
            output = try await run(compose, ["-f", file, "config"])
        }
        guard output.status == 0 else { throw TestFailure("\(file) does not validate: \(output.stderr)") }
        return try await json(fromYAML: output.stdout)
    }

    /// The environment variables a subcommand reads, found by the two ways the code reads them:
    /// those read in its own `<Name>Command.swift`, plus those read anywhere outside a command file
    /// (shared by every role: REDIS_URL, LOG_LEVEL, …).
    static func variablesRead(by subcommand: String) throws -> Set<String> {
        var names: Set<String> = []
        let sources = root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        let pattern = try Regex(#"(?:environment\["|Environment\.value\(\s*")([A-Z][A-Z0-9_]+)""#)
        let own = subcommand.prefix(1).uppercased() + subcommand.dropFirst() + "Command.swift"
        for file in files where file.pathExtension == "swift" {
            let name = file.lastPathComponent
            guard !name.hasSuffix("Command.swift") || name == own else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: pattern) {
                if let name = match.output[1].substring { names.insert(String(name)) }
            }
        }
        return names
    }

    /// docs/configuration.md lists every setting the sources read — through `Environment.value`,
    /// `environment[…]`, a `setting(…)` closure, a flow's settings list or a default argument —
    /// and the per-service and per-kind families; it names nothing the sources do not read.
    @Test func theConfigurationPageNamesEverySettingTheCodeReads() throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let listed = Set(
            page.matches(of: try Regex(#"^\| `([A-Z][A-Z0-9_<>]+)` \|"#).anchorsMatchLineEndings()).compactMap {
                $0.output[1].substring.map(String.init)
            })
        // The name may stand on the line after its call's parenthesis (the formatter puts it there).
        let reader = #"(?:environment\["|Environment\.value\(\s*"|setting\(\s*"|\(\s*"|name:\s*"|setting:\s*"|=\s*")"#
        let pattern = try Regex(reader + #"([A-Z][A-Z0-9]+_[A-Z0-9_]+|PORT|COLUMNS)""#)
        var read: Set<String> = []
        let files =
            FileManager.default.enumerator(at: Self.root.appendingPathComponent("Sources"), includingPropertiesForKeys: nil)?.compactMap {
                $0 as? URL
            } ?? []
        for file in files where file.pathExtension == "swift" {
            for match in try String(contentsOf: file, encoding: .utf8).matches(of: pattern) {
                if let name = match.output[1].substring { read.insert(String(name)) }
            }
        }
        let families = ["RATE_LIMIT_": "RATE_LIMIT_<SERVICE>", "CONCURRENCY_": "CONCURRENCY_<SERVICE>"]
        read = Set(read.map { families[$0] ?? $0 }).union(["RETRY_<KIND>", "RATE_LIMIT_<SERVICE>", "CONCURRENCY_<SERVICE>"])
        #expect(read.count > 90, "the scan finds what the code reads: \(read.count)")
        for name in read.sorted() { #expect(listed.contains(name), "docs/configuration.md lacks \(name)") }
        let scriptsOnly: Set = ["SWITCHBOARD_SWARM_TEST", "SWITCHBOARD_TEST_TIMEOUT"]
        for name in listed.subtracting(read).subtracting(scriptsOnly).sorted() {
            #expect(Bool(false), "docs/configuration.md lists \(name), which nothing reads")
        }
    }

    /// Variables an operator never sets in a deployment: test-only switches and terminal settings.
    static let notForDeployments = Set(["SWITCHBOARD_ALLOW_CRASH_JOBS", "NO_COLOR", "COLUMNS", "SWITCHBOARD_BIN"])
        // Alternatives an operator chooses instead of what the files set: Chatwoot's Redis under
        // Sentinel, its password apart from the URL.
        .union(["REDIS_SENTINELS", "REDIS_SENTINEL_MASTER_NAME", "REDIS_SENTINEL_PASSWORD", "REDIS_PASSWORD"])

    /// Seconds in a duration as compose files and the docker CLI write them: `150s`, `2m30s`, `1h`.
    static func seconds(_ text: String) -> Double? {
        let units: [String: Double] = ["h": 3600, "m": 60, "s": 1, "ms": 0.001]
        var total = 0.0
        var number = ""
        var unit = ""
        func flush() -> Bool {
            guard !number.isEmpty else { return unit.isEmpty }
            guard let value = Double(number), let scale = units[unit.isEmpty ? "s" : unit] else { return false }
            total += value * scale
            number = ""
            unit = ""
            return true
        }
        for character in text {
            if character.isNumber || character == "." {
                if !unit.isEmpty, !flush() { return nil }
                number.append(character)
            } else {
                unit.append(character)
            }
        }
        return flush() ? total : nil
    }

    /// A service running our image (the stack's Redis or Qdrant are someone else's).
    static func isSwitchboard(_ service: [String: Any]) -> Bool {
        let image = "\(service["image"] ?? "")"
        return image == stackSettings["SWITCHBOARD_IMAGE"] || image == "switchboard:local"
    }

    func check(_ file: String) async throws {
        let config = try await Self.rendered(file)
        let services = try #require(config["services"] as? [String: [String: Any]])
        let declaredSecrets = Set((config["secrets"] as? [String: Any] ?? [:]).keys)
        for (name, service) in services where Self.isSwitchboard(service) {
            // Secrets: declared at the top, and every *_FILE names one of the service's own.
            let secrets = (service["secrets"] as? [Any] ?? []).compactMap { ($0 as? [String: Any])?["source"] as? String ?? $0 as? String }
            for secret in secrets { #expect(declaredSecrets.contains(secret), "\(file): \(name) uses undeclared secret \(secret)") }
            let environment = service["environment"] as? [String: Any] ?? [:]
            // The command is a real subcommand with real options.
            let command = try #require(service["command"] as? [String], "\(file): \(name) has no command")
            let reads = try Self.variablesRead(by: command[0])
            // A credential's NAME_FILE (not a variable that is itself a path, like SCHEDULE_FILE).
            for (key, value) in environment where key.hasSuffix("_FILE") && !reads.contains(key) {
                let path = "\(value)"
                #expect(
                    path.hasPrefix("/run/secrets/") && secrets.contains(String(path.dropFirst("/run/secrets/".count))),
                    "\(file): \(name).\(key) points at \(path), not at one of its secrets")
            }
            // Every variable its role reads is set (directly or as *_FILE), but the test switches.
            #expect(reads.contains("REDIS_URL"), "the scan finds what the code reads")
            for variable in reads.subtracting(Self.notForDeployments) where variable != "HEALTHCHECK_PORT" || file == "stack.yml" {
                #expect(environment[variable] != nil || environment["\(variable)_FILE"] != nil, "\(file): \(name) does not set \(variable)")
            }
            #expect(environment["SWITCHBOARD_ALLOW_CRASH_JOBS"] == nil, "\(file): \(name) allows crash jobs")
            // A consumer runs every kind that can arrive on the queues it reads, with the settings it
            // is given (a kind it cannot run would see its jobs dead-lettered as unknown), and takes
            // every credential of its flows from a secret.
            // (Without --queues a consumer runs whichever flows turn out configured: nothing to hold it to.)
            if command[0] == "consumer",
                let queues = command.firstIndex(of: "--queues").map({ command[$0 + 1].split(separator: ",").map(String.init) })
            {
                let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-deploy-\(UUID().uuidString)")
                defer { try? FileManager.default.removeItem(at: scratch) }
                let configured: FlowServices?
                let blobs: BlobStore?
                let backups: BackupServices?
                do {
                    let setting = { (name: String) -> String? in
                        if name == "BLOB_STORE", environment[name] != nil { return scratch.path }
                        if let value = environment[name].map({ "\($0)" }), !value.isEmpty { return value }
                        guard environment["\(name)_FILE"] != nil else { return nil }
                        return name == "DATABASE_URL"
                            ? "postgres://chatwoot:from-a-secret@postgres:5432/chatwoot_production" : "from-a-secret"
                    }
                    configured = try FlowConfiguration.services(
                        forQueues: queues, keys: Keys(prefix: "deploy"), http: HTTPClient(connections: 1), setting: setting)
                    blobs = try FlowConfiguration.blobStore(
                        forQueues: queues, flows: configured, http: HTTPClient(connections: 1), setting: setting)
                    backups = try BackupServices.configured(
                        required: queues.contains(Backups.queue), http: HTTPClient(connections: 1), setting: setting)
                } catch {
                    Issue.record("\(file): \(name) cannot run its queues: \(error)")
                    continue
                }
                let own = Catalogue.registry(flows: configured, blobs: blobs, backups: backups)
                if queues.contains(Backups.queue) {
                    #expect(
                        backups?.snapshots != nil && backups?.dumps != nil && backups?.attachments != nil,
                        "\(file): \(name) runs the backups but not all three (snapshots, database dumps, attachments mirror)")
                }
                let every = try Self.everyKind(scratch)
                for queue in queues {
                    #expect(every.queues.contains(queue), "\(file): \(name) reads \(queue), which no job kind of this build serves")
                    for kind in every.definitions.values where kind.queue == queue {
                        #expect(
                            own.definitions[kind.kind] != nil,
                            "\(file): \(name) reads \(queue) but cannot run its \(kind.kind) jobs with its settings")
                    }
                }
                let flowSettings = FlowConfiguration.chatSettings + FlowConfiguration.voiceSettings + FlowConfiguration.indexSettings
                for (setting, _) in flowSettings where setting.hasSuffix("_KEY") || setting.hasSuffix("_TOKEN") {
                    #expect(environment[setting] == nil, "\(file): \(name) must take \(setting) from a secret (\(setting)_FILE)")
                }
            }
            // The image's HEALTHCHECK probes HEALTHCHECK_PORT (default 9090): the producer's is its own port.
            if command[0] == "producer", let index = command.firstIndex(of: "--port") {
                #expect(
                    "\(environment["HEALTHCHECK_PORT"] ?? "")" == command[index + 1],
                    "\(file): \(name)'s health check probes the wrong port")
            }
            let help = try await Self.run(SwitchboardProcess.executable.path, [command[0], "--help"])
            #expect(help.status == 0, "\(file): \(name) runs '\(command[0])', which is no switchboard subcommand")
            for option in command where option.hasPrefix("--") {
                #expect(help.stdout.contains(option), "\(file): \(name) passes \(option), which '\(command[0])' does not take")
            }
            // Grace: the timeout of every kind that can arrive on its queues (all of them: a consumer
            // without --queues reads every queue) < --grace-period < stop_grace_period.
            if command[0] == "consumer" {
                let grace = command.firstIndex(of: "--grace-period").flatMap { Double(command[$0 + 1]) } ?? 25
                let stop = try #require(
                    (service["stop_grace_period"] as? String).flatMap(Self.seconds), "\(file): \(name) has no stop_grace_period")
                #expect(stop > grace, "\(file): \(name) stop_grace_period \(stop)s is not longer than --grace-period \(grace)s")
                let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-grace-\(UUID().uuidString)")
                defer { try? FileManager.default.removeItem(at: scratch) }
                let every = try Self.everyKind(scratch)
                let queues =
                    command.firstIndex(of: "--queues").map { command[$0 + 1].split(separator: ",").map(String.init) } ?? every.queues
                // (A restartable kind — a backup — is given back when the grace is over and runs again.)
                for kind in every.definitions.values where queues.contains(kind.queue) && !kind.restartable {
                    #expect(
                        Double(kind.timeout.components.seconds) < grace,
                        "\(file): \(name) --grace-period \(grace)s is shorter than \(kind.kind)'s timeout (\(kind.timeout))")
                }
            }
        }
    }

    /// The command line checks enqueues and imports against the build's table of kinds and queues:
    /// it must be exactly what a consumer with every flow configured (and crash jobs allowed) runs.
    @Test func theTableOfKindsIsEveryKindOfTheBuild() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-kinds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var every = try Self.everyKind(scratch).definitions.mapValues(\.queue)
        every["crash"] = Catalogue.registry(allowCrash: true)["crash"]?.queue
        #expect(every == Catalogue.queueOfKind)
    }

    /// Every job kind of this build, as a consumer with every flow and the backups configured has them.
    static func everyKind(_ scratch: URL) throws -> JobRegistry {
        let http = HTTPClient(connections: 1)
        let services = FlowServices(
            embeddings: EmbeddingsClient(baseURL: "http://e", apiKey: nil, model: "m", http: http),
            qdrant: QdrantClient(baseURL: "http://q", apiKey: nil, collection: "c", http: http),
            completions: ChatCompletionsClient(baseURL: "http://g", apiKey: "k", model: "m", http: http),
            chatwoot: ChatwootClient(baseURL: "http://c", apiToken: "t", http: http), systemPrompt: "p", keys: Keys(prefix: "deploy"),
            speech: AzureSpeechClient(key: "k", hosts: .region("r"), http: http), blobs: try BlobStore(location: scratch.path), http: http,
            account: 1)
        return Catalogue.registry(
            flows: services,
            backups: BackupServices(snapshots: SnapshotSettings(hetzner: HetznerClient(token: "t", http: http), serverIDs: [1])))
    }

    @Test(.enabled(if: which("docker") != nil && which("python3") != nil))
    func stackFileIsValidAndConsistent() async throws {
        try await check("stack.yml")
        let config = try await Self.rendered("stack.yml")
        let network = try #require((config["networks"] as? [String: [String: Any]])?["chatwoot"])
        #expect(network["external"] as? Bool == true, "Chatwoot's Redis is reached over an external overlay network")
        let services = try #require(config["services"] as? [String: [String: Any]])
        for (name, service) in services {
            let deploy = try #require(service["deploy"] as? [String: Any], "\(name) has no deploy section")
            #expect(deploy["replicas"] != nil)
            #expect(
                (deploy["update_config"] as? [String: Any])?["failure_action"] as? String == "rollback",
                "\(name) does not roll back a failed update")
            #expect(deploy["restart_policy"] != nil)
            #expect((deploy["resources"] as? [String: Any])?["limits"] != nil, "\(name) has no resource limits")
        }
        // The consumers the autoscaler scales: labels it takes, naming exactly the queues each reads;
        // the autoscaler itself on a manager, speaking to its Engine, limited to this stack.
        var scaled: [String] = []
        for (name, service) in services {
            guard let labels = (service["deploy"] as? [String: Any])?["labels"] as? [String: String],
                labels[ScalingRules.marker] != nil
            else { continue }
            let rules = try ScalingRules.read(service: name, labels: labels, known: Catalogue.allQueues)
            let command = service["command"] as? [String] ?? []
            let queues = command.firstIndex(of: "--queues").map { command[$0 + 1].split(separator: ",").map(String.init) } ?? []
            #expect(Set(rules.queues) == Set(queues), "\(name): switchboard.autoscale.queues is not its --queues")
            scaled.append(name)
        }
        #expect(Set(scaled) == ["speech", "calls", "knowledge", "llm", "replies", "maintenance", "backups"], "\(scaled)")
        let autoscale = try #require(services["autoscale"])
        let autoscaleCommand = autoscale["command"] as? [String] ?? []
        #expect(autoscaleCommand.first == "autoscale" && autoscaleCommand.contains("--stack"))
        #expect(
            ((autoscale["deploy"] as? [String: Any])?["placement"] as? [String: Any])?["constraints"] as? [String] == [
                "node.role == manager"
            ])
        #expect(
            (autoscale["volumes"] as? [[String: Any]] ?? []).contains { $0["target"] as? String == "/var/run/docker.sock" },
            "the autoscaler reaches the Engine through its socket")
        // The scheduler reads its entries from a Docker config, and they are a valid schedule.
        let scheduler = try #require(services["scheduler"])
        let configs = (scheduler["configs"] as? [[String: Any]] ?? []).compactMap { $0["target"] as? String }
        #expect(
            configs.contains("\((scheduler["environment"] as? [String: Any])?["SCHEDULE_FILE"] ?? "")"),
            "SCHEDULE_FILE names the mounted config")
        let schedule = try Data(contentsOf: Self.root.appendingPathComponent("schedule.json"))
        #expect(try !ScheduleEntry.load(schedule, registry: Catalogue.schedulable()).isEmpty)
        // The producer: public through Traefik (TLS, a body-size limit, only the ingress paths),
        // its health checked on its own port.
        let producer = try #require(services["producer"])
        let labels = try #require(
            (producer["deploy"] as? [String: Any])?["labels"] as? [String: String], "the producer has no Traefik labels")
        #expect(labels["traefik.enable"] == "true")
        #expect(labels.contains { $0.key.hasSuffix(".tls") && $0.value == "true" })
        #expect(labels.contains { $0.key.hasSuffix(".buffering.maxRequestBodyBytes") && Int($0.value) == 25 << 20 })
        let rule = try #require(labels.first { $0.key.hasSuffix(".rule") }?.value)
        #expect(rule.contains("/webhooks/") && rule.contains("/voice") && !rule.contains("metrics"))
        let port = try #require(labels.first { $0.key.hasSuffix("loadbalancer.server.port") }?.value)
        let environment = producer["environment"] as? [String: Any] ?? [:]
        #expect("\(environment["PORT"] ?? "")" == port && "\(environment["HEALTHCHECK_PORT"] ?? "")" == port)
        #expect(((producer["healthcheck"] as? [String: Any])?["test"] as? [String])?.contains(port) == true)
        // Traefik reaches the producer and the console on its own network (v2 and v3 label names),
        // and nothing else of the stack: Chatwoot's network, with Postgres and Redis, stays out of its sight.
        #expect(labels["traefik.docker.network"] == "traefik-public" && labels["traefik.swarm.network"] == "traefik-public")
        let networks = try #require(config["networks"] as? [String: [String: Any]])
        #expect(networks["traefik"]?["external"] as? Bool == true && networks["traefik"]?["name"] as? String == "traefik-public")
        for (name, service) in services {
            let attached = service["networks"] as? [String: Any] ?? [:]
            #expect(attached["traefik"] == nil || name == "producer" || name == "console", "\(name) is on Traefik's network")
            // The stack's Qdrant is on the stack's own network: whoever is given its address must be there too.
            let qdrant = "\((service["environment"] as? [String: Any] ?? [:])["QDRANT_URL"] ?? "")"
            #expect(!qdrant.contains("//qdrant:") || attached["switchboard"] != nil, "\(name) talks to qdrant but is not on its network")
        }
        #expect(labels.contains { $0.key.hasSuffix(".retry.attempts") }, "a retry middleware covers a replica going away")
        #expect(labels.contains { $0.key.hasSuffix("loadbalancer.healthcheck.path") && $0.value == "/readyz" })
        let command = producer["command"] as? [String] ?? []
        let drain = command.firstIndex(of: "--drain-delay").flatMap { Double(command[$0 + 1]) } ?? 0
        let grace = command.firstIndex(of: "--grace-period").flatMap { Double(command[$0 + 1]) } ?? 10
        let stop = (producer["stop_grace_period"] as? String).flatMap(Self.seconds) ?? 0
        #expect(drain >= 5 && stop > drain + grace, "the producer drains before it stops, within its stop_grace_period")
        // Router and middleware names follow SWITCHBOARD_ROUTER, so a staging stack can share Traefik.
        let staging = try await Self.json(
            fromYAML: try await Self.run(
                try #require(Self.which("docker")), ["stack", "config", "-c", "stack.yml"],
                settings: Self.stackSettings.merging(["SWITCHBOARD_ROUTER": "staging"]) { $1 }
            ).stdout)
        let stagingLabels =
            ((staging["services"] as? [String: [String: Any]])?["producer"]?["deploy"] as? [String: Any])?["labels"] as? [String: String]
            ?? [:]
        let routed = stagingLabels.keys.filter { $0.hasPrefix("traefik.http.") }
        #expect(!routed.isEmpty && routed.allSatisfy { $0.contains(".staging.") || $0.contains(".staging-") }, "\(routed)")
        // The schedule's config carries its version: a changed schedule is a new config.
        let scheduleConfig = try #require((config["configs"] as? [String: [String: Any]])?["switchboard_schedule"])
        #expect(scheduleConfig["name"] as? String == "switchboard_schedule_3")
        // Every service of ours: no privileges, read-only, an init, rotated logs, readiness health.
        for (name, service) in services where Self.isSwitchboard(service) {
            #expect(service["read_only"] as? Bool == true, "\(name) is not read-only")
            #expect(service["cap_drop"] as? [String] == ["ALL"], "\(name) keeps capabilities")
            #expect(service["init"] as? Bool == true, "\(name) has no init")
            let healthcheck = (service["healthcheck"] as? [String: Any])?["test"] as? [String] ?? []
            #expect(healthcheck.contains("/readyz"), "\(name)'s health is not its readiness")
        }
        for (name, service) in services {
            let logging = service["logging"] as? [String: Any]
            #expect((logging?["options"] as? [String: Any])?["max-size"] != nil, "\(name)'s logs are not rotated")
            #expect(!"\(service["image"] ?? "")".hasSuffix(":latest"), "\(name) runs a moving image")
        }
    }

    /// Settings of the deploy in docs/deploying.md that a deployment may leave out: the bucket's endpoint and key
    /// id with a node-local blob folder, Keycloak with the console's token alone.
    static let optionalStackSettings: Set = ["BLOB_S3_ENDPOINT", "BLOB_S3_ACCESS_KEY_ID", "CONSOLE_OIDC_ISSUER"]

    /// A setting without a sensible default stops the deploy with its own message, one by one; an
    /// optional one's absence does not.
    @Test(.enabled(if: which("docker") != nil))
    func aMissingRequiredSettingStopsTheDeployNamingIt() async throws {
        let docker = try #require(Self.which("docker"))
        for name in Self.stackSettings.keys.sorted() {
            var settings = Self.stackSettings
            settings.removeValue(forKey: name)
            let output = try await Self.run(docker, ["stack", "config", "-c", "stack.yml"], settings: settings)
            if Self.optionalStackSettings.contains(name) {
                #expect(output.status == 0, "without \(name): \(output.stderr.prefix(300))")
            } else {
                #expect(
                    output.status != 0 && output.stderr.contains("required variable \(name) is missing"),
                    "without \(name): \(output.stderr.prefix(300))")
            }
        }
        // A node-local folder needs no bucket setting at all.
        var local = Self.stackSettings.filter { !$0.key.hasPrefix("BLOB_S3_") }
        local["BLOB_STORE"] = "file:///var/lib/switchboard/blobs"
        let output = try await Self.run(docker, ["stack", "config", "-c", "stack.yml"], settings: local)
        #expect(output.status == 0, "\(output.stderr.prefix(300))")
    }

    /// A count set by REPLICAS_<SERVICE> is what every deploy sets, so a redeploy keeps it.
    @Test(.enabled(if: which("docker") != nil && which("python3") != nil))
    func replicaCountsComeFromTheDeploysEnvironment() async throws {
        let docker = try #require(Self.which("docker"))
        let output = try await Self.run(
            docker, ["stack", "config", "-c", "stack.yml"], settings: Self.stackSettings.merging(["REPLICAS_SPEECH": "5"]) { $1 })
        let services = try #require(try await Self.json(fromYAML: output.stdout)["services"] as? [String: [String: Any]])
        #expect((services["speech"]?["deploy"] as? [String: Any])?["replicas"] as? Int == 5)
        #expect((services["llm"]?["deploy"] as? [String: Any])?["replicas"] as? Int == 2)
        for (name, service) in services where Self.isSwitchboard(service) {
            let monitor = ((service["deploy"] as? [String: Any])?["update_config"] as? [String: Any])?["monitor"] as? String
            #expect(
                monitor.flatMap(Self.seconds).map { $0 <= 60 } == true,
                "\(name): docker service scale would wait \(monitor ?? "?") to call a count stable")
        }
    }

    /// The deployment steps (docs/deploying.md) create every secret the stack names.
    @Test(.enabled(if: which("docker") != nil))
    func theDeploymentStepsCreateEverySecretTheStackNames() async throws {
        let config = try await Self.rendered("stack.yml")
        let steps = try String(contentsOf: Self.root.appendingPathComponent("docs/deploying.md"), encoding: .utf8)
        for secret in (config["secrets"] as? [String: Any] ?? [:]).keys {
            #expect(steps.contains("docker secret create \(secret)"), "docs/deploying.md never creates \(secret)")
        }
        for name in Self.stackSettings.keys { #expect(steps.contains(name), "docs/deploying.md never sets \(name)") }
    }

    @Test(.enabled(if: which("docker-compose") != nil && which("python3") != nil))
    func composeFileIsValidAndConsistent() async throws {
        try await check("docker-compose.yml")
        let config = try await Self.rendered("docker-compose.yml")
        let redis = try #require((config["services"] as? [String: [String: Any]])?["redis"])
        let command = (redis["command"] as? [String] ?? []).joined(separator: " ")
        #expect(command.contains("--appendonly yes"))
        #expect(command.contains("--maxmemory-policy noeviction"))
        // `--scale consumer=3` works: no consumer publishes a host port three replicas would share.
        let consumer = try #require((config["services"] as? [String: [String: Any]])?["consumer"])
        #expect(consumer["ports"] == nil)
    }

    @Test func healthSubcommandProbesTheMonitoringListener() async throws {
        let closed = try ClosedPort()
        let down = try await SwitchboardProcess.run(["health", "--port", String(closed.port)])
        #expect(down.status == 1)
        let server = try await RedisServer()
        let (consumer, serving) = try await SwitchboardProcess.serving {
            ["consumer", "--redis", server.url, "--metrics-port", String($0)]
        }
        #expect(try await SwitchboardProcess.run(["health", "--port", String(serving)]).status == 0)
        #expect(try await SwitchboardProcess.run(["health", "--port", String(serving), "--path", "/readyz"]).status == 0)
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0, "\(consumer.log.suffix(3000))")
    }
}
