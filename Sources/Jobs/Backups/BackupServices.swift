import Foundation
import Queue
import Services

/// What the backup jobs call out to and how they are told to behave, built once per consumer that
/// takes the `backups` queue, from `HCLOUD_TOKEN` (or `_FILE`), `HCLOUD_BASE_URL`,
/// `BACKUP_SERVER_IDS` (`12,34`) or `BACKUP_SERVER_SELECTOR` (a Hetzner label selector),
/// `BACKUP_KEEP_SNAPSHOTS` (default 7), `BACKUP_SNAPSHOT_POLL` (how often a running snapshot is
/// looked at, default 15s, 100ms to 1h) and `BACKUP_SNAPSHOT_TIMEOUT` (how long it may run,
/// default 2h, 1m to 7d).
public struct BackupServices: Sendable {
    public var hetzner: HetznerClient
    public var serverIDs: [Int]?
    public var serverSelector: String?
    public var keepSnapshots: Int
    public var poll: Duration
    public var snapshotTimeout: Duration
    /// The deployment's keys, where the backups made are recorded.
    public var keys: Keys

    public init(hetzner: HetznerClient, serverIDs: [Int]? = nil, serverSelector: String? = nil, keepSnapshots: Int = 7,
                poll: Duration = .seconds(15), snapshotTimeout: Duration = .seconds(7200), keys: Keys = Keys()) {
        self.keys = keys
        self.hetzner = hetzner
        self.serverIDs = serverIDs
        self.serverSelector = serverSelector
        self.keepSnapshots = keepSnapshots
        self.poll = poll
        self.snapshotTimeout = snapshotTimeout
    }

    /// The backups' services, or nil when HCLOUD_TOKEN is unset and they are not `required`.
    /// Throws, naming the setting, for a missing or malformed one.
    public static func configured(required: Bool, keys: Keys = Keys(), http makeHTTP: @autoclosure () -> HTTPClient,
                                  setting: (String) throws -> String?) throws -> BackupServices? {
        guard let token = try setting("HCLOUD_TOKEN") else {
            if required { throw FlowConfigurationError("the backups need HCLOUD_TOKEN (or HCLOUD_TOKEN_FILE)") }
            return nil
        }
        var ids: [Int]?
        if let text = try setting("BACKUP_SERVER_IDS") {
            let parsed = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw FlowConfigurationError("BACKUP_SERVER_IDS '\(text)' is not a list of server ids, e.g. 1234,5678")
            }
            ids = parsed.compactMap { $0 }
        }
        let selector = try setting("BACKUP_SERVER_SELECTOR")
        guard ids != nil || selector != nil else {
            throw FlowConfigurationError("the backups need BACKUP_SERVER_IDS or BACKUP_SERVER_SELECTOR (which servers to snapshot)")
        }
        func count(_ name: String, default value: Int) throws -> Int {
            guard let text = try setting(name) else { return value }
            guard let number = Int(text), (1...1000).contains(number) else { throw FlowConfigurationError("\(name) '\(text)' is not a number from 1 to 1000") }
            return number
        }
        func duration(_ name: String, default value: Duration, within bounds: ClosedRange<Duration>) throws -> Duration {
            guard let text = try setting(name) else { return value }
            guard let parsed = RetryBudgets.duration(text), bounds.contains(parsed) else {
                throw FlowConfigurationError("\(name) '\(text)' is not a duration from \(bounds.lowerBound) to \(bounds.upperBound), such as 15s, 2m or 2h")
            }
            return parsed
        }
        return BackupServices(
            hetzner: HetznerClient(baseURL: try setting("HCLOUD_BASE_URL") ?? "https://api.hetzner.cloud/v1", token: token, http: makeHTTP()),
            serverIDs: ids, serverSelector: selector, keepSnapshots: try count("BACKUP_KEEP_SNAPSHOTS", default: 7),
            // A poll of a millisecond would put the follow-up back and run it again without pause.
            poll: try duration("BACKUP_SNAPSHOT_POLL", default: .seconds(15), within: .milliseconds(100)...(.seconds(3600))),
            snapshotTimeout: try duration("BACKUP_SNAPSHOT_TIMEOUT", default: .seconds(7200), within: .seconds(60)...(.seconds(7 * 86_400))),
            keys: keys)
    }
}
