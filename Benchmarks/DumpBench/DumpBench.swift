import Foundation
import Jobs
import Queue
import Redis
import TestSupport

/// `dumpbench`: `backup.database` against a generated PostgreSQL of a few hundred MB, as the
/// `backups` service runs it (a `switchboard consumer` process), into an S3 endpoint on loopback
/// that holds R2's rules — beside `pg_dump --format=custom > /dev/null` on the same database in
/// the same run, which is the limit (the dump cannot be faster than pg_dump). Prints the medians
/// of the runs: MB/s of each, the upload's cost on top of the dump, and the consumer's peak RSS.
@main
struct DumpBench {
    struct Options {
        var megabytes = 300
        var runs = 3
        var partSize = "16MiB"

        init(_ arguments: [String]) {
            var iterator = arguments.dropFirst().makeIterator()
            while let argument = iterator.next() {
                switch argument {
                case "--megabytes": megabytes = iterator.next().flatMap(Int.init) ?? megabytes
                case "--runs": runs = iterator.next().flatMap(Int.init) ?? runs
                case "--part-size": partSize = iterator.next() ?? partSize
                default:
                    print("usage: dumpbench [--megabytes N] [--runs N] [--part-size 16MiB]")
                    exit(2)
                }
            }
        }
    }

    static func main() async throws {
        let options = Options(CommandLine.arguments)
        let pg = try await PostgresServer()
        try await pg.sql("CREATE DATABASE chatwoot")
        // Chatwoot-like rows: messages of text (which pg_dump compresses) and attachments' bytes (which it cannot).
        try await pg.sql(
            "CREATE TABLE messages (id bigint PRIMARY KEY, conversation int, content text, created timestamptz); CREATE TABLE files (id bigint PRIMARY KEY, data bytea);",
            database: "chatwoot")
        let batches = max(1, options.megabytes / 10)
        for batch in 0..<batches {
            let base = batch * 5_000
            try await pg.sql(
                """
                INSERT INTO messages SELECT g, g % 997, repeat('Hello, is late check-out possible on ' || g || '? ', 12), now() - g * interval '1 minute'
                  FROM generate_series(\(base + 1), \(base + 5_000)) g;
                INSERT INTO files SELECT g, (SELECT decode(string_agg(md5(random()::text || g || i), ''), 'hex') FROM generate_series(1, 64) i)
                  FROM generate_series(\(base * 2 + 1), \(base * 2 + 8_000)) g;
                """, database: "chatwoot", timeout: .seconds(600))
        }
        let size = Int(try await pg.sql("SELECT pg_database_size('chatwoot')")) ?? 0
        let redis = try await RedisServer()
        let h = ProcessHarness(server: redis, prefix: "dumpbench")
        let s3 = try await FakeS3(bucket: "backups", accessKeyID: "r2-key", secret: "r2-secret")
        let consumer = try h.consumer(
            ["--queues", "backups", "--concurrency", "1"],
            environment: [
                "DATABASE_URL": pg.url(database: "chatwoot"), "PG_DUMP": "/usr/bin/pg_dump", "R2_ENDPOINT": s3.url, "R2_BUCKET": "backups",
                "R2_ACCESS_KEY_ID": "r2-key", "R2_SECRET_ACCESS_KEY": "r2-secret", "BACKUP_PART_SIZE": options.partSize,
                "BACKUP_KEEP_DUMPS": "1", "LOG_LEVEL": "warning",
            ])
        defer { consumer.signal(SIGTERM) }
        print(
            "dumpbench: database of \(size >> 20) MiB, \(options.runs) runs, parts of \(options.partSize), switchboard at \(SwitchboardProcess.executable.path)"
        )
        _ = await eventually(timeout: .seconds(30)) { @Sendable in Measure.memory(consumer.pid, "VmRSS") != nil }
        try await Task.sleep(for: .seconds(1))
        let idle = Measure.memory(consumer.pid, "VmRSS") ?? 0
        var alone: [Double] = []
        var ours: [Double] = []
        var bytes = 0
        for run in 1...options.runs {
            // The limit: pg_dump writing the same dump to nowhere.
            let started = ContinuousClock.now
            let baseline = try await ChildProcess.run(
                "/usr/bin/pg_dump", ["--format=custom", "--no-password", "--no-sync", "--file=/dev/null", "--dbname=chatwoot"],
                environment: pg.clientEnvironment, timeout: .seconds(1800))
            guard baseline.status == 0 else { throw TestFailure("pg_dump failed: \(baseline.stderr)") }
            alone.append(Measure.seconds(ContinuousClock.now - started))

            let begun = ContinuousClock.now
            try await Self.enqueue(h)
            // The job's entry leaves the stream when it is acknowledged, done.
            guard
                await eventually(
                    timeout: .seconds(1800), every: .milliseconds(50),
                    { @Sendable in (try? await h.integer("XLEN", h.key("backups:stream"))) == 0 }),
                try await h.integer("XLEN", h.key("backups:dead")) == 0
            else { throw TestFailure("the dump did not finish: \(consumer.log.suffix(2000))") }
            ours.append(Measure.seconds(ContinuousClock.now - begun))
            bytes = s3.objects.value.values.map(\.body.count).max() ?? 0
            s3.objects.withLock { $0.removeAll() }
            print(
                String(
                    format: "run %d: pg_dump > /dev/null %.2f s, backup.database %.2f s, dump %.1f MiB", run, alone.last!, ours.last!,
                    Double(bytes) / 1_048_576))
        }
        let peak = Measure.memory(consumer.pid, "VmHWM") ?? 0
        let dumpMB = Double(bytes) / 1_000_000
        let limit = Measure.median(alone)
        let measured = Measure.median(ours)
        print(String(format: "pg_dump > /dev/null: %.1f MB/s (median %.2f s)", dumpMB / limit, limit))
        print(
            String(
                format: "backup.database:     %.1f MB/s (median %.2f s), %.0f%% of pg_dump alone", dumpMB / measured, measured,
                100 * limit / measured))
        print(
            String(
                format: "consumer RSS: %.1f MiB idle, %.1f MiB peak (parts of %@)", Double(idle) / 1024, Double(peak) / 1024,
                options.partSize))
    }

    static func enqueue(_ h: ProcessHarness) async throws {
        let pool = RedisPool(endpoint: h.server.endpoint)
        defer { pool.close() }
        let request = JobRequest(queue: Backups.queue, kind: DatabaseDump.kind, payload: "{}", maxAttempts: 1)
        try await Broker(pool: pool, keys: Keys(prefix: h.prefix)).add(request.envelope(), to: Backups.queue)
    }
}
