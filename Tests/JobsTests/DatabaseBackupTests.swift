import Foundation
import Jobs
import Queue
import Redis
import TestSupport
import Testing

/// `backup.database` as the `backups` service runs it: a consumer process dumping a real
/// PostgreSQL into an S3 endpoint that checks every signature and holds R2's equal-part rule,
/// restored with `pg_restore` and compared row by row.
@Suite(.serialized) struct DatabaseBackupTests {
    static let bucket = "backups"
    static let folder = "switchboard/dumps/chatwoot/"

    struct Setup {
        let redis: RedisServer
        let h: ProcessHarness
        let pg: PostgresServer

        init(blobRows: Int) async throws {
            redis = try await RedisServer()
            h = ProcessHarness(server: redis)
            pg = try await PostgresServer()
            try await pg.sql("CREATE DATABASE chatwoot")
            // Rows of several types, incompressible bytes (so the dump is as large as the data,
            // several parts), and two large objects.
            try await pg.sql(
                """
                CREATE TABLE guests (id int PRIMARY KEY, name text, stay daterange, note text, seen timestamptz);
                INSERT INTO guests SELECT g, 'guest ' || g, daterange('2026-01-01'::date + g % 300, '2026-01-05'::date + g % 300),
                       repeat('ü€', g % 7), '2026-11-29 02:30:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 5000) g;
                CREATE TABLE blobs (id int PRIMARY KEY, data bytea);
                INSERT INTO blobs SELECT g, (SELECT decode(string_agg(md5(random()::text || g || i), ''), 'hex') FROM generate_series(1, 64) i)
                       FROM generate_series(1, \(blobRows)) g;
                SELECT lo_from_bytea(4242, decode(repeat('00ff', 100000), 'hex'));
                SELECT lo_from_bytea(4243, 'hello'::bytea);
                """, database: "chatwoot", timeout: .seconds(300))
        }

        func environment(_ s3: FakeS3, _ extra: [String: String] = [:]) -> [String: String] {
            environment(endpoint: s3.url, extra)
        }

        func environment(endpoint: String, _ extra: [String: String] = [:]) -> [String: String] {
            [
                "DATABASE_URL": pg.url(database: "chatwoot"), "R2_ENDPOINT": endpoint, "R2_BUCKET": DatabaseBackupTests.bucket,
                "R2_ACCESS_KEY_ID": "r2-key", "R2_SECRET_ACCESS_KEY": "r2-secret", "BACKUP_PART_SIZE": "5MiB",
                "BACKUP_PART_RETRY_DELAY": "10ms",
            ]
            .merging(extra) { _, new in new }
        }

        func consumer(_ s3: FakeS3, _ extra: [String: String] = [:]) throws -> SwitchboardProcess {
            try h.consumer(["--queues", "backups", "--concurrency", "2"], environment: environment(s3, extra))
        }

        func dump(attempts: Int = 1) async throws {
            try await h.addBackup(DatabaseDump.kind, attempts: attempts)
        }

        func finished() async -> Bool { await h.backupsDrained() }

        func deadError() async throws -> String? { try await h.firstBackupDeadLetter()["error"] }

        /// Every table's rows and every large object, as one digest per item.
        func digest(of database: String) async throws -> String {
            try await pg.sql(
                """
                SELECT 'guests', md5(string_agg(g::text, '|' ORDER BY id)) FROM guests g
                UNION ALL SELECT 'blobs', md5(string_agg(b::text, '|' ORDER BY id)) FROM blobs b
                UNION ALL SELECT 'lo ' || oid, md5(lo_get(oid)) FROM pg_largeobject_metadata
                ORDER BY 1;
                """, database: database)
        }
    }

    /// An old dump of ours and objects that are not ours, which nothing may touch.
    static func seed(_ s3: FakeS3, ours days: ClosedRange<Int>) -> [String] {
        let keys = days.map { String(format: "\(folder)202611%02dT023000Z-01JBBBBBBBBBBBBBBBBBBBB%03d.dump", $0, $0) }
        let foreign = [
            "\(folder)notes.txt", "\(folder)manual-copy.dump", "switchboard/dumps/other/20261101T023000Z-01JBBBBBBBBBBBBBBBBBBBB001.dump",
        ]
        s3.objects.withLock { objects in
            for key in keys + foreign { objects[key] = (Array("old \(key)".utf8), "application/octet-stream") }
        }
        return keys
    }

    @Test func aDumpIsStreamedInEqualPartsRestoresToTheSameRowsAndOldDumpsAreRotated() async throws {
        let s = try await Setup(blobRows: 12_000)
        let s3 = try await FakeS3(bucket: Self.bucket, accessKeyID: "r2-key", secret: "r2-secret")
        let old = Self.seed(s3, ours: 1...5)
        let consumer = try s.consumer(s3, ["BACKUP_KEEP_DUMPS": "3"])
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        // The nightly entry of schedule.json, run now.
        try await s.h.runScheduled("database-dump")
        #expect(await eventually(timeout: .seconds(120)) { await s.finished() }, "\(consumer.log.suffix(2000))")
        #expect(try await s.deadError() == nil, "\(consumer.log.suffix(2000))")

        // One new dump, in parts of one size; its upload completed, nothing left open.
        let objects = s3.objects.value
        let made = objects.keys.filter {
            $0.hasPrefix(Self.folder) && !old.contains($0) && $0.hasSuffix(".dump") && !$0.hasSuffix("manual-copy.dump")
        }
        try #require(made.count == 1, "\(objects.keys.sorted())")
        let key = made[0]
        let parts = s3.requests.filter { $0.method == "PUT" && $0.query.contains("partNumber=") }.map(\.body.count)
        #expect(parts.count >= 3 && parts.dropLast().allSatisfy { $0 == 5 << 20 } && parts.last! <= 5 << 20, "\(parts)")
        #expect(objects[key]?.body.count == parts.reduce(0, +))
        #expect(s3.uploads.value.isEmpty)

        // Rotation: the new dump and the two newest old ones; foreign objects untouched.
        #expect(
            Set(objects.keys.filter { $0.hasPrefix(Self.folder) && $0.contains("Z-") }) == [key, old[3], old[4]], "\(objects.keys.sorted())"
        )
        #expect(
            objects["\(Self.folder)notes.txt"] != nil && objects["\(Self.folder)manual-copy.dump"] != nil
                && objects["switchboard/dumps/other/20261101T023000Z-01JBBBBBBBBBBBBBBBBBBBB001.dump"] != nil)

        // Listed for the operator, fetched back with the command line, restored: the same rows.
        let (_, json) = try await SwitchboardProcess.run(["backups", "list", "--json"] + s.h.common)
        let listed = jsonFields(Array(json.utf8))["backups"] as? [[String: Any]] ?? []
        #expect(
            listed.count == 1 && listed.first?["name"] as? String == key && listed.first?["kind"] as? String == "dump"
                && listed.first?["bytes"] as? Int == objects[key]?.body.count, "\(json)")
        let file = s.pg.directory.appendingPathComponent("fetched.dump").path
        let fetched = try await SwitchboardProcess.run(["backups", "fetch", key, "--output", file], environment: s.environment(s3))
        #expect(fetched.status == 0, "\(fetched.output)")
        try await s.pg.sql("CREATE DATABASE restored")
        let restore = try await ChildProcess.run(
            "/usr/bin/pg_restore", ["--no-owner", "--exit-on-error", "-d", "restored", file],
            environment: s.pg.clientEnvironment, timeout: .seconds(300))
        #expect(restore.status == 0, "\(restore.stderr)")
        let original = try await s.digest(of: "chatwoot")
        #expect(original.split(separator: "\n").count == 4)
        #expect(try await s.digest(of: "restored") == original)

        // The password shows nowhere the operator looks.
        let encoded = s.pg.password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        #expect(!consumer.log.contains(s.pg.password) && !consumer.log.contains(encoded))
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }

    /// The same dump into moto's S3 server, an S3 that is not ours (every part once reached it
    /// empty): restored, the same rows.
    @Test(.enabled(if: MotoS3Server.available, "moto[server] is not installed"))
    func aDumpIntoMotosS3RestoresToTheSameRows() async throws {
        let s = try await Setup(blobRows: 3_000)
        let moto = try await MotoS3Server(bucket: Self.bucket)
        let environment = s.environment(endpoint: moto.url, ["R2_REGION": "us-east-1"])
        let consumer = try s.h.consumer(["--queues", "backups", "--concurrency", "2"], environment: environment)
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        try await s.dump()
        #expect(await eventually(timeout: .seconds(120)) { await s.finished() }, "\(consumer.log.suffix(2000))")
        #expect(try await s.deadError() == nil, "\(consumer.log.suffix(2000))")
        let (_, json) = try await SwitchboardProcess.run(["backups", "list", "--json"] + s.h.common)
        let key = try #require((jsonFields(Array(json.utf8))["backups"] as? [[String: Any]])?.first?["name"] as? String, "\(json)")
        let file = s.pg.directory.appendingPathComponent("from-moto.dump").path
        let fetched = try await SwitchboardProcess.run(["backups", "fetch", key, "--output", file], environment: environment)
        #expect(fetched.status == 0, "\(fetched.output)")
        #expect(try await moto.object(Self.bucket, key)?.count == (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int))
        try await s.pg.sql("CREATE DATABASE restored")
        let restore = try await ChildProcess.run(
            "/usr/bin/pg_restore", ["--no-owner", "--exit-on-error", "-d", "restored", file],
            environment: s.pg.clientEnvironment, timeout: .seconds(300))
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(try await s.digest(of: "restored") == (try await s.digest(of: "chatwoot")))
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }

    @Test func aPartRefusedForGoodAbortsTheUploadAndLeavesThePreviousDump() async throws {
        let s = try await Setup(blobRows: 12_000)
        let s3 = try await FakeS3(bucket: Self.bucket, accessKeyID: "r2-key", secret: "r2-secret") { received in
            received.method == "PUT" && received.query.contains("partNumber=2&") ? FakeService.answer(.internalServerError) : nil
        }
        let old = Self.seed(s3, ours: 1...1)
        let before = s3.objects.value.mapValues(\.body)
        let consumer = try s.consumer(s3, ["BACKUP_KEEP_DUMPS": "1"])
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        try await s.dump()
        #expect(await eventually(timeout: .seconds(120)) { (try? await s.deadError()) != nil }, "\(consumer.log.suffix(2000))")
        let error = try await s.deadError() ?? ""
        #expect(error.contains("500"), "\(error)")
        #expect(
            s3.requests.filter { $0.method == "PUT" && $0.query.contains("partNumber=2&") }.count == 5,
            "part 2 retried on its own, five times in all")
        #expect(s3.requests.contains { $0.method == "DELETE" && $0.query.contains("uploadId=") }, "the upload was aborted")
        #expect(s3.uploads.value.isEmpty, "no parts left behind")
        #expect(s3.objects.value.mapValues(\.body) == before, "no new object, the previous dump \(old[0]) untouched")
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }

    @Test func theServerGoingAwayMidDumpAbortsTheUpload() async throws {
        let s = try await Setup(blobRows: 24_000)
        let holding = LockedValue(true)
        let s3 = try await FakeS3(bucket: Self.bucket, accessKeyID: "r2-key", secret: "r2-secret") { received in
            // The first part waits: pg_dump, writing faster than it is taken, is then mid-dump.
            if received.method == "PUT", received.query.contains("partNumber=1&") {
                while holding.value { try? await Task.sleep(for: .milliseconds(10)) }
            }
            return nil
        }
        let old = Self.seed(s3, ours: 1...1)
        let consumer = try s.consumer(s3)
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        try await s.dump()
        #expect(
            await eventually(timeout: .seconds(60)) { s3.requests.contains { $0.query.contains("partNumber=1&") } },
            "\(consumer.log.suffix(2000))")
        await s.pg.stop(immediate: true)
        holding.set(false)
        #expect(await eventually(timeout: .seconds(60)) { (try? await s.deadError()) != nil }, "\(consumer.log.suffix(2000))")
        let error = try await s.deadError() ?? ""
        #expect(error.contains("pg_dump"), "\(error)")
        #expect(s3.requests.contains { $0.method == "DELETE" && $0.query.contains("uploadId=") } && s3.uploads.value.isEmpty)
        #expect(
            Set(s3.objects.value.keys.filter { $0.hasPrefix(Self.folder) && $0.hasSuffix("Z-01JBBBBBBBBBBBBBBBBBBBB001.dump") }) == [old[0]]
        )
        #expect(s3.objects.value.keys.filter { $0.hasPrefix(Self.folder) }.count == 3, "nothing new: \(s3.objects.value.keys.sorted())")
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }
}

/// `backup.database` with a `pg_dump` that is not the one on the machine: one older than the
/// server (Debian's is 15, Chatwoot's image may run 16 — only one PostgreSQL is installed here, so
/// a script stands in for the old client and says what pg_dump 15 says), and one that records the
/// arguments and environment it was given.
@Suite struct PostgresDumpProcessTests {
    @Test func anOlderPgDumpIsAPermanentErrorNamingBothVersionsAndSeesNoPasswordInItsArguments() async throws {
        let redis = try await RedisServer()
        let h = ProcessHarness(server: redis)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-pgdump-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = folder.appendingPathComponent("pg_dump")
        try """
        #!/bin/sh
        printf '%s\\n' "$@" > '\(folder.path)/arguments'
        env > '\(folder.path)/environment'
        echo 'pg_dump: error: aborting because of server version mismatch' >&2
        echo 'pg_dump: detail: server version: 16.4 (Debian 16.4-1.pgdg120+2); pg_dump version: 15.10 (Debian 15.10-0+deb12u1)' >&2
        exit 1
        """.write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        let s3 = try await FakeS3(bucket: "backups", accessKeyID: "r2-key", secret: "r2-secret")
        let password = "s3cr%t:p@ss"
        let consumer = try h.consumer(
            ["--queues", "backups"],
            environment: [
                "DATABASE_URL": "postgresql://chatwoot:s3cr%25t%3Ap%40ss@db.internal:5432/chatwoot_production?sslmode=disable",
                "PG_DUMP": script.path,
                "R2_ENDPOINT": s3.url, "R2_BUCKET": "backups", "R2_ACCESS_KEY_ID": "r2-key", "R2_SECRET_ACCESS_KEY": "r2-secret",
                "HCLOUD_TOKEN": "hc-token",
                "BACKUP_SERVER_IDS": "1",
            ])
        defer { if consumer.isRunning { consumer.signal(SIGKILL) } }
        // Four attempts allowed: a permanent failure takes none of the other three.
        try await h.addBackup(DatabaseDump.kind, attempts: 4)
        #expect(
            await eventually(timeout: .seconds(30)) { (try? await h.integer("XLEN", h.key("backups:dead"))) == 1 },
            "\(consumer.log.suffix(2000))")
        let letter = try await h.firstBackupDeadLetter()
        let error = letter["error"] ?? ""
        #expect(error.contains("15.10") && error.contains("16.4") && error.contains("PG_DUMP"), "\(error)")
        #expect(letter["attempt"] == "1", "\(letter)")

        let arguments = try String(contentsOf: folder.appendingPathComponent("arguments"), encoding: .utf8)
        #expect(
            arguments.contains("--format=custom")
                && arguments.contains("--dbname=postgresql://chatwoot@db.internal:5432/chatwoot_production?sslmode=disable"),
            "\(arguments)")
        #expect(!arguments.contains("s3cr") && !arguments.contains("p%40ss"))
        let environment = try String(contentsOf: folder.appendingPathComponent("environment"), encoding: .utf8).split(separator: "\n")
        #expect(environment.contains("PGPASSWORD=\(password)"), "the password reaches pg_dump in PGPASSWORD, decoded")
        #expect(
            !environment.contains { $0.hasPrefix("R2_") || $0.hasPrefix("HCLOUD") || $0.hasPrefix("DATABASE_URL") },
            "no other secret is passed on: \(environment)")
        #expect(!consumer.log.contains("s3cr"))
        #expect(s3.uploads.value.isEmpty && s3.objects.value.isEmpty && s3.requests.contains { $0.method == "DELETE" })
        consumer.signal(SIGTERM)
        #expect(await consumer.waitForExit() == 0)
    }
}
