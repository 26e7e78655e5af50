import Foundation
import Redis

/// What this process has spent so far — CPU seconds and voluntary context switches (the times its
/// threads went to sleep waiting), all threads — from one `getrusage`. A benchmark reads it before
/// and after the stretch it measures.
struct ProcessUsage {
    var cpuSeconds: Double
    var sleeps: Int

    static func now() -> ProcessUsage {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return ProcessUsage(cpuSeconds: cpu, sleeps: usage.ru_nvcsw)
    }
}

/// What the Redis server has spent so far — CPU seconds (user + system) and the reads it served
/// (`total_reads_processed`, about one per round trip) — from one `INFO` (its default sections
/// hold both; each reading adds one read of its own).
struct RedisUsage {
    var cpuSeconds: Double
    var reads: Int

    static func read(_ pool: RedisPool) async throws -> RedisUsage {
        let info = try await pool.send("INFO").string ?? ""
        var usage = RedisUsage(cpuSeconds: 0, reads: 0)
        for line in info.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            switch parts[0] {
            case "used_cpu_sys", "used_cpu_user": usage.cpuSeconds += Double(value) ?? 0
            case "total_reads_processed": usage.reads = Int(value) ?? 0
            default: break
            }
        }
        return usage
    }
}
