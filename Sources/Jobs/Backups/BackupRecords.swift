import Foundation
import Queue
import Redis

/// What each backup job made, kept in Redis so `switchboard backups list` shows the backups that
/// exist — newest first, with when, how big and how long it took — without the vendors'
/// credentials. A backup is recorded when it is complete and forgotten when rotation removes it.
public struct BackupRecords: Sendable {
    public struct Record: Codable, Sendable, Equatable {
        /// `snapshot` (a Hetzner image) or `dump` (a database dump object).
        public var kind: String
        /// The image id or the object's key.
        public var name: String
        /// The server a snapshot is of.
        public var server: Int?
        /// Unix milliseconds when it was complete.
        public var finishedAt: UInt64
        public var durationMilliseconds: UInt64
        public var bytes: Int64?

        public init(kind: String, name: String, server: Int? = nil, finishedAt: UInt64, durationMilliseconds: UInt64, bytes: Int64? = nil) {
            self.kind = kind
            self.name = name
            self.server = server
            self.finishedAt = finishedAt
            self.durationMilliseconds = durationMilliseconds
            self.bytes = bytes
        }

        var id: String { "\(kind):\(name)" }
    }

    let pool: RedisPool
    let keys: Keys

    public init(pool: RedisPool, keys: Keys) {
        self.pool = pool
        self.keys = keys
    }

    public func record(_ record: Record) async throws {
        let text = String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
        try await pool.send("HSET", keys.backups, record.id, text)
    }

    public func forget(kind: String, names: [String]) async throws {
        guard !names.isEmpty else { return }
        try await pool.send(RedisCommand("HDEL", [keys.backups] + names.map { "\(kind):\($0)" }))
    }

    /// Every recorded backup, newest first.
    public func all() async throws -> [Record] {
        let decoder = JSONDecoder()
        return try await pool.send("HGETALL", keys.backups).pairs
            .compactMap { try? decoder.decode(Record.self, from: Data(($0.value.string ?? "").utf8)) }
            .sorted { ($0.finishedAt, $0.name) > ($1.finishedAt, $1.name) }
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// The backups that exist, as their jobs recorded them: backup id → JSON record (a hash).
    public var backups: String { named("backups") }
}
