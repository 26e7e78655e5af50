import Foundation
import Queue
import Services

/// One run of `pg_dump --format=custom` as a child process, its output handed on as it comes.
///
/// The child gets only what it needs in its environment — `PATH`, `LANG=C` (so its messages can be
/// read), the `PG*` settings of this process and `PGPASSWORD` — never the consumer's other
/// secrets. Its standard error is kept (the last 16 KiB) for the failure's message. When the
/// reader stops (a part refused for good, cancellation) the child is stopped too.
struct PostgresDump {
    let settings: DumpSettings

    var arguments: [String] {
        ["--format=custom", "--no-password", "--lock-wait-timeout=300000", "--dbname=\(settings.database.withoutPassword)"]
    }

    /// What the child is given: nothing of ours but the path and libpq's own settings.
    var childEnvironment: [String: String] {
        let passed = ProcessInfo.processInfo.environment.filter {
            $0.key.hasPrefix("PG") && $0.key != "PG_DUMP" && $0.key != "PGPASSFILE" || $0.key == "PATH"
        }
        let fixed = ["LANG": "C", "LC_ALL": "C", "PGPASSWORD": settings.database.password]
        let defaults = ["PATH": "/usr/local/bin:/usr/bin:/bin", "PGCONNECT_TIMEOUT": "30"]
        return defaults.merging(passed) { _, given in given }.merging(fixed.compactMapValues { $0 }) { _, fixed in fixed }
    }

    /// Runs the dump to its end, handing every piece of it to `write`. Throws a `JobFailure`
    /// (the password masked) when pg_dump fails or writes nothing.
    func run(into write: ([UInt8]) async throws -> Void) async throws {
        let process: Subprocess
        do {
            process = try Subprocess(settings.pgDump, arguments, environment: childEnvironment, output: .pipe, error: .pipe)
        } catch {
            throw JobFailure.permanent("\(error)")
        }
        let errors = PipeCapture(fd: process.standardError!, limit: 16 << 10)
        var bytes = 0
        do {
            try await PipeStream.read(process.standardOutput!) { piece in
                bytes += piece.count
                try await write(piece)
            }
        } catch {
            await process.stop()
            throw error
        }
        guard let status = await process.wait(timeout: .seconds(60)) else {
            await process.stop()
            throw JobFailure.retryable("pg_dump closed its output but did not exit within 60s")
        }
        _ = await errors.waitFinished(timeout: .seconds(5))
        let said = settings.database.redacting(errors.text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard status == 0 else { throw Self.failure(status: status, said: said) }
        guard bytes > 0 else { throw JobFailure.retryable("pg_dump exited 0 but wrote nothing" + (said.isEmpty ? "" : ": \(said)")) }
    }

    /// pg_dump's failure as the job's: permanent when running it again cannot help.
    static func failure(status: Int32, said: String) -> JobFailure {
        let how = status < 0 ? "was killed by signal \(-status)" : "exited \(status)"
        if said.contains("server version mismatch") {
            let server = value(after: "server version: ", in: said) ?? "?"
            let client = value(after: "pg_dump version: ", in: said) ?? "?"
            return .permanent(
                "pg_dump \(client) is older than the server, PostgreSQL \(server): set PG_DUMP to a pg_dump of the server's major version or newer"
            )
        }
        let message = "pg_dump \(how): \(said.isEmpty ? "(nothing on standard error)" : said)"
        let hopeless = [
            "password authentication failed", "authentication failed", "does not exist", "permission denied", "no password supplied",
            "invalid connection option",
        ]
        return hopeless.contains { said.contains($0) } ? .permanent(message) : .retryable(message)
    }

    /// The text after `marker` up to `;` or the end of the line.
    static func value(after marker: String, in text: String) -> String? {
        guard let start = text.range(of: marker) else { return nil }
        return String(text[start.upperBound...].prefix { $0 != ";" && $0 != "\n" }).trimmingCharacters(in: .whitespaces)
    }
}
