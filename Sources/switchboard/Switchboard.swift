import ArgumentParser
import Foundation
import Logging
import Redis

@main
struct Switchboard: AsyncParsableCommand {
    /// Runs the command line with exit codes scripts can rely on: 0 ok, 1 not found or nothing
    /// matched, 2 usage, 3 Redis unreachable.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as RedisError where error.isAuthenticationProblem || error.isConnectionProblem {
            // A role that cannot use its Redis at all (refused credentials): exit 3, as the CLI does.
            Foundation.exit(RedisFailure.report(error).rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "A Redis-streams job processor for self-hosted Chatwoot.",
        discussion: """
            Every subcommand reads Redis from --redis, else REDIS_URL (or the file named by REDIS_URL_FILE), \
            else redis://127.0.0.1:6379. Keys live under the prefix from --prefix, else SWITCHBOARD_PREFIX, \
            else 'switchboard'. Log level: LOG_LEVEL (trace, debug, info, notice, warning, error, critical).
            Exit codes: 0 ok, 1 not found or nothing matched, 2 usage, 3 Redis unreachable.
            """,
        subcommands: [
            ProducerCommand.self, ConsumerCommand.self, SchedulerCommand.self, AutoscaleCommand.self, EnqueueCommand.self,
            QueuesCommand.self, FlowsCommand.self,
            TraceCommand.self, ConsoleCommand.self, SchedulesCommand.self, BackupsCommand.self, DeadCommand.self, HealthCommand.self,
            KnowledgeCommand.self, AskCommand.self, PrivacyCommand.self,
        ]
    )
}

/// Options every subcommand shares.
struct RedisOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Redis URL, redis://[user:password@]host:port[/db].", valueName: "url"))
    var redis: String?

    @Option(name: .long, help: ArgumentHelp("Key prefix of this deployment (the hash tag of every key).", valueName: "prefix"))
    var prefix: String?

    /// The Redis of `--redis`, else `REDIS_URL`; with `REDIS_SENTINELS` set, its master found
    /// through the sentinels (Chatwoot's settings: `REDIS_SENTINEL_MASTER_NAME`, default `mymaster`,
    /// and `REDIS_SENTINEL_PASSWORD`), the URL giving only the credentials and database. Chatwoot's
    /// separate `REDIS_PASSWORD` is the password when the URL carries none.
    func endpoint() throws -> RedisEndpoint {
        let environment = ProcessInfo.processInfo.environment
        let url = try redis ?? Environment.value("REDIS_URL", environment) ?? "redis://127.0.0.1:6379"
        do {
            var endpoint = try RedisEndpoint(url: url)
            if endpoint.password == nil, let password = try Environment.value("REDIS_PASSWORD", environment) {
                endpoint.password = password
            }
            if let sentinels = try Environment.value("REDIS_SENTINELS", environment) {
                endpoint.sentinel = try SentinelSettings(
                    list: sentinels, masterName: try Environment.value("REDIS_SENTINEL_MASTER_NAME", environment) ?? "mymaster",
                    password: try Environment.value("REDIS_SENTINEL_PASSWORD", environment))
            }
            return endpoint
        } catch let error as RedisError {
            throw ValidationError("\(error)")
        }
    }

    var keyPrefix: String {
        prefix ?? ProcessInfo.processInfo.environment["SWITCHBOARD_PREFIX"].flatMap { $0.isEmpty ? nil : $0 } ?? "switchboard"
    }

    /// The prefix becomes every key's hash tag `{prefix}` and part of the patterns that find a
    /// deployment's streams: braces would break the tag (and Redis Cluster's slots), glob
    /// characters the scans, an empty one would share keys with whatever else uses `{}`.
    func validate() throws {
        let text = keyPrefix
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
        guard !text.isEmpty, text.count <= 128, text.allSatisfy(allowed.contains) else {
            throw ValidationError(
                "the key prefix (--prefix or SWITCHBOARD_PREFIX) must be 1-128 letters, digits, '-', '_', '.' or ':', got '\(text.prefix(80))'"
            )
        }
    }
}

/// Reads configuration the Docker-secrets way: `NAME`, else the contents of the file `NAME_FILE`.
enum Environment {
    static func value(_ name: String, _ environment: [String: String]) throws -> String? {
        if let value = environment[name], !value.isEmpty { return value }
        guard let path = environment["\(name)_FILE"], !path.isEmpty else { return nil }
        do {
            // An empty file counts as unset: a credential is never the empty string.
            let value = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            return value.isEmpty ? nil : value
        } catch {
            throw ValidationError("\(name)_FILE names '\(path)', which cannot be read: \(error.localizedDescription)")
        }
    }
}

extension Environment {
    /// Chatwoot's webhook secret. Unlike the other routes' credentials, whose absence leaves their
    /// route unserved, its absence leaves /webhooks/chatwoot taking unsigned deliveries (Chatwoot
    /// before v4.11.2 signs nothing): so a secret that is named but empty (an empty Docker secret, a
    /// variable set to nothing) is refused at start, never read as "unsigned".
    static func chatwootSecret(_ environment: [String: String], name: String = "CHATWOOT_WEBHOOK_SECRET") throws -> String? {
        let value = try Environment.value(name, environment)
        if value == nil, environment[name] != nil || environment["\(name)_FILE"].map({ !$0.isEmpty }) == true {
            let which = environment[name] != nil ? name : "\(name)_FILE (\(environment["\(name)_FILE"] ?? ""))"
            throw ValidationError(
                "\(which) is set but empty: the Chatwoot route would take unsigned deliveries. Give it the webhook's secret, or unset it to take unsigned ones on purpose."
            )
        }
        return value
    }
}
