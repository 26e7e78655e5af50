import Foundation

/// A real PostgreSQL (Debian's `postgresql` package) for one test: a cluster made by `initdb` in
/// a temporary folder, a password on its superuser (scram-sha-256, so a client must send it), a
/// free loopback port, removed when the test lets go of it. Run as the unprivileged `postgres`
/// user when the tests run as root (PostgreSQL refuses to run as root).
public final class PostgresServer: Sendable {
    public let directory: URL
    public let password: String
    public let port: Int
    private let server: LockedValue<ChildProcess?>

    /// The folder of the newest server binaries installed (`/usr/lib/postgresql/<major>/bin`).
    public static var binaries: String? {
        let root = "/usr/lib/postgresql"
        let majors = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return majors.last.map { "\(root)/\($0)/bin" }
    }

    /// Whether tests can run one here.
    public static var isInstalled: Bool {
        binaries.map { FileManager.default.isExecutableFile(atPath: "\($0)/postgres") } ?? false
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/pg_dump")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/pg_restore")
    }

    public init() async throws {
        guard let binaries = Self.binaries, Self.isInstalled else {
            throw TestFailure("PostgreSQL is not installed: apt-get install -y postgresql (scripts/install-deps.sh does)")
        }
        // In memory where the machine has it: a cluster's writes (tables, WAL, a restore) then
        // cost no disk time that other tests' fsyncs would wait behind.
        let base = access("/dev/shm", W_OK) == 0 ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory
        directory = base.appendingPathComponent("switchboard-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Characters a URL must percent-encode, so the password's way to the server is tested too.
        password = "p@ss:w/rd %\(UUID().uuidString.prefix(8))"
        let passwordFile = directory.appendingPathComponent("password")
        try Data(password.utf8).write(to: passwordFile)
        if getuid() == 0 {
            guard let account = getpwnam("postgres") else {
                throw TestFailure("running as root needs the user postgres (made by the postgresql package)")
            }
            for path in [directory.path, passwordFile.path] { chown(path, account.pointee.pw_uid, account.pointee.pw_gid) }
        }
        let made = try await ChildProcess.run(
            Self.command("\(binaries)/initdb"),
            Self.arguments(
                [
                    "-D", directory.appendingPathComponent("data").path, "-U", "postgres", "--auth=scram-sha-256",
                    "--pwfile=\(passwordFile.path)", "--no-sync", "-E", "UTF8", "--locale=C",
                ], "\(binaries)/initdb"),
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C"], timeout: .seconds(120))
        guard made.status == 0 else { throw TestFailure("initdb failed: \(made.stdout)\(made.stderr)") }
        port = try FreePort.find()
        server = LockedValue(nil)
        try await start()
    }

    deinit {
        if let child = server.value, child.isRunning {
            child.signal(SIGQUIT)
            _ = child.waitBlocking(timeout: .seconds(10))
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts the server (again, after `stop`) and waits until it takes connections.
    public func start() async throws {
        guard let binaries = Self.binaries else { throw TestFailure("PostgreSQL is not installed") }
        let settings = [
            "-D", directory.appendingPathComponent("data").path, "-p", String(port), "-k", directory.path,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
            "-c", "wal_level=minimal", "-c", "max_wal_senders=0", "-c", "shared_buffers=32MB",
        ]
        let child = try ChildProcess(
            Self.command("\(binaries)/postgres"), Self.arguments(settings, "\(binaries)/postgres"),
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C"], stderr: .capture)
        server.set(child)
        let ready = await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            guard child.isRunning else { return false }
            let probe = try? await ChildProcess.run(
                "/usr/bin/pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(self.port)], environment: ["PATH": "/usr/bin:/bin"],
                timeout: .seconds(10))
            return probe?.status == 0
        }
        guard ready else { throw TestFailure("postgres did not start: \(child.standardError.suffix(2000))") }
    }

    /// Stops the server: `immediate` kills every backend at once (SIGQUIT), as a crash would;
    /// otherwise a fast shutdown (SIGINT).
    public func stop(immediate: Bool = false) async {
        guard let child = server.value else { return }
        child.signal(immediate ? SIGQUIT : SIGINT)
        _ = await child.wait(timeout: .seconds(30))
    }

    /// `postgres://postgres:<password>@127.0.0.1:<port>/<database>`, the password percent-encoded.
    public func url(database: String = "postgres") -> String {
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
        return "postgres://postgres:\(encoded)@127.0.0.1:\(port)/\(database)"
    }

    /// The client tools' environment: the password in PGPASSWORD, never in an argument.
    public var clientEnvironment: [String: String] {
        ["PATH": "/usr/bin:/bin", "LANG": "C", "PGPASSWORD": password, "PGHOST": "127.0.0.1", "PGPORT": String(port), "PGUSER": "postgres"]
    }

    /// Runs SQL with psql (stopping at the first error) and returns its unaligned, tuples-only output.
    @discardableResult
    public func sql(_ statements: String, database: String = "postgres", timeout: Duration = .seconds(120)) async throws -> String {
        let run = try await ChildProcess.run(
            "/usr/bin/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database],
            environment: clientEnvironment, input: statements, timeout: timeout)
        guard run.status == 0 else { throw TestFailure("psql failed (\(run.status)): \(run.stderr)") }
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// As root, the server's programs run as the `postgres` user through setpriv (which executes
    /// them in place, so signals reach them).
    static func command(_ executable: String) -> String { getuid() == 0 ? "/usr/bin/setpriv" : executable }

    static func arguments(_ arguments: [String], _ executable: String) -> [String] {
        getuid() == 0 ? ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", executable] + arguments : arguments
    }
}
