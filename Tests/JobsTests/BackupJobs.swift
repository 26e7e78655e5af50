import Foundation
import Jobs
import Queue
import Redis
import TestSupport

/// What the backup tests do to the `backups` queue of a consumer process: put a job on it as the
/// scheduler would, see it drained, read its dead letter.
extension ProcessHarness {
    func addBackup(_ kind: String, payload: String = "{}", attempts: Int) async throws {
        let pool = RedisPool(endpoint: server.endpoint)
        defer { pool.close() }
        let request = JobRequest(queue: Backups.queue, kind: kind, payload: payload, maxAttempts: attempts)
        try await Broker(pool: pool, keys: Keys(prefix: prefix)).add(request.envelope(), to: Backups.queue)
    }

    /// Runs an entry of the repository's `schedule.json` now, as `switchboard schedules run NAME`
    /// does for an operator: what the scheduler enqueues each night.
    func runScheduled(_ name: String) async throws {
        let schedule = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("schedule.json")
        let run = try await SwitchboardProcess.run(["schedules", "run", name, "--schedule", schedule.path] + common)
        guard run.status == 0 else { throw TestFailure("schedules run \(name) failed (\(run.status)): \(run.output)") }
    }

    /// No backup job waiting or delayed.
    func backupsDrained() async -> Bool {
        let waiting = try? await integer("XLEN", key("backups:stream"))
        let delayed = try? await integer("ZCARD", key("backups:delayed"))
        return waiting == 0 && delayed == 0
    }

    /// The fields of the first dead letter of the `backups` queue, if there is one.
    func firstBackupDeadLetter() async throws -> [String: String] {
        let fields = try await client.send("XRANGE", key("backups:dead"), "-", "+").array?.first?.array?.last?.pairs ?? []
        return Dictionary(fields.map { ($0.key, $0.value.string ?? "") }) { first, _ in first }
    }
}
