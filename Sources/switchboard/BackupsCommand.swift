import ArgumentParser
import Foundation
import Jobs
import Queue
import Redis
import Services

struct BackupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backups",
        abstract: "List the backups that exist, as their jobs recorded them, and fetch a dump back.",
        subcommands: [BackupsListCommand.self, BackupsFetchCommand.self],
        defaultSubcommand: BackupsListCommand.self
    )
}

struct BackupsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "The snapshots (and dumps) that exist, newest first: kind, name, server, when, age, size, how long it took.",
        discussion:
            "A backup is listed once its job finished it, and no longer once rotation removed it. Reads Redis only; no vendor credential is needed."
    )

    @OptionGroup var redis: RedisOptions

    @Flag(help: "Print JSON (one object with a 'backups' array) instead of a table.")
    var json = false

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let records = try await RedisFailure.exitOnFailure {
            try await BackupRecords(pool: pool, keys: Keys(prefix: redis.keyPrefix)).all()
        }
        if json {
            struct Output: Encodable { var backups: [BackupRecords.Record] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Output(backups: records)), as: UTF8.self))
            return
        }
        guard !records.isEmpty else {
            print("no backups recorded yet")
            return
        }
        let now = Int(Date().timeIntervalSince1970 * 1000)
        print(
            Table.render(
                [["KIND", "NAME", "SERVER", "FINISHED", "AGE", "SIZE", "TOOK"]]
                    + records.map { record in
                        let finished = Date(timeIntervalSince1970: TimeInterval(record.finishedAt) / 1000).formatted(
                            .iso8601.year().month().day().time(includingFractionalSeconds: false))
                        return [
                            record.kind, record.name, record.server.map(String.init) ?? "-", finished,
                            Terminal.age(milliseconds: now - Int(record.finishedAt)),
                            record.bytes.map { ByteCountFormatter.string(fromByteCount: $0, countStyle: .binary) } ?? "-",
                            Terminal.age(milliseconds: Int(record.durationMilliseconds)),
                        ]
                    }), terminator: "")
    }
}

struct BackupsFetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Stream a database dump (or any backup object) from R2 to a file or to standard output, for pg_restore.",
        discussion: """
            NAME is the object's key as `backups list` shows it. Reads R2_ENDPOINT (or R2_ACCOUNT_ID), R2_BUCKET, \
            R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY (each also as NAME_FILE). The object is streamed, never held whole; \
            with --output it is written to FILE.partial and renamed to FILE only once every byte arrived, so FILE is never \
            half a dump. Exits 1 when there is no such object or the transfer fails.
            """)

    @Argument(help: "The backup's object key, e.g. switchboard/dumps/chatwoot/20261129T023000Z-01J….dump")
    var name: String

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let r2: R2Settings
        do {
            r2 = try R2Settings.configured(http: HTTPClient(connections: 1)) { try Environment.value($0, environment) }
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        if output == nil, isatty(1) != 0 {
            throw ValidationError("a dump is binary: give --output FILE, or pipe it (switchboard backups fetch NAME | pg_restore …)")
        }
        // An empty key would fetch the bucket's listing; a key that names no object is refused
        // before a request is made.
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, !name.hasPrefix("/"), !name.hasSuffix("/"), name.utf8.count <= 1024,
            !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw ValidationError(
                "'\(Terminal.visible(name))' is no object key: give one as `backups list` shows it, e.g. switchboard/dumps/chatwoot/….dump")
        }
        do {
            guard let head = try await r2.client.head(name) else {
                Terminal.error("no object '\(name)' in bucket '\(r2.client.bucket)' (see switchboard backups list)")
                throw ExitCode(1)
            }
            let partial = output.map { $0 + ".partial" }
            let fd = try partial.map(Self.openPartial) ?? 1
            var received: Int64 = 0
            do {
                try await r2.client.download(name) { piece in
                    try Self.write(piece, to: fd)
                    received += Int64(piece.count)
                }
                guard received == head.size else { throw UploadFailure("received \(received) bytes, the object has \(head.size)") }
                if let partial, let output {
                    guard fsync(fd) == 0, close(fd) == 0, rename(partial, output) == 0 else {
                        throw UploadFailure("cannot finish \(output): \(String(cString: strerror(errno)))")
                    }
                }
            } catch {
                if let partial {
                    close(fd)
                    unlink(partial)
                }
                throw error
            }
            if let output { Terminal.error("\(name): \(received) bytes written to \(output)") }
        } catch let error as HTTPFailure {
            Terminal.error("cannot fetch \(name): \(error)")
            throw ExitCode(1)
        } catch let error as UploadFailure {
            Terminal.error("cannot fetch \(name): \(error)")
            throw ExitCode(1)
        }
    }

    /// Creates `path` for writing, never through a link or into a file that is not a regular one:
    /// a symlink planted at `FILE.partial` would otherwise have the dump written wherever it
    /// points. A regular file left by an earlier run that stopped is replaced.
    static func openPartial(_ path: String) throws -> Int32 {
        for _ in 0..<2 {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 { return fd }
            guard errno == EEXIST else { break }
            var status = stat()
            guard lstat(path, &status) == 0 else { break }
            guard status.st_mode & S_IFMT == S_IFREG else {
                Terminal.error(
                    "cannot write \(Terminal.visible(path)): it exists and is not a regular file (a symlink?); remove it and fetch again")
                throw ExitCode(1)
            }
            unlink(path)
        }
        Terminal.error("cannot write \(Terminal.visible(path)): \(String(cString: strerror(errno)))")
        throw ExitCode(1)
    }

    static func write(_ bytes: [UInt8], to fd: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw UploadFailure("write failed: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }
}
