import Foundation
import Redis

/// A real `redis-server` for one test: started on a free loopback port with a data folder of its
/// own, stopped (and its folder removed) when the test releases it. Can be stopped and started
/// again on the same port and folder, to test reconnects and AOF recovery.
public final class RedisServer: Sendable {
    public let port: Int
    public let directory: URL
    private let arguments: [String]
    private let process: ProcessBox

    /// Starts a server; `aof` turns on the append-only file with fsync on every write. The wait
    /// for it to listen runs on a thread of its own: dozens of tests start servers at once, and
    /// blocking Swift's cooperative pool (one thread per core) for each would stall every test.
    public init(aof: Bool = false, extraArguments: [String] = []) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.directory = directory
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try FreePort.find()
            // DEBUG (for DEBUG SLEEP: a stalled server that burns no CPU) from loopback only.
            var arguments = [
                "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path, "--save", "", "--daemonize", "no",
                "--logfile", directory.appendingPathComponent("redis.log").path, "--enable-debug-command", "local",
            ]
            arguments += aof ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
            arguments += extraArguments
            do {
                let process = ProcessBox()
                try await process.startOffPool(arguments: arguments, port: port, log: directory.appendingPathComponent("redis.log"))
                self.port = port
                self.arguments = arguments
                self.process = process
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestFailure("could not start redis-server")
    }

    deinit {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public var url: String { "redis://127.0.0.1:\(port)" }
    public var endpoint: RedisEndpoint { RedisEndpoint(host: "127.0.0.1", port: port) }

    /// Stops the server: `graceful` asks it to SHUTDOWN (the AOF is flushed), otherwise SIGKILL.
    public func stop(graceful: Bool = true) {
        if graceful { process.terminate() } else { process.stop() }
    }

    /// Starts it again on the same port and folder (reloading the AOF if there is one). The wait
    /// for it to listen runs on a thread of its own, as at the start: a restart under load can take
    /// seconds, and blocking one of the cooperative pool's two threads meanwhile stalled every
    /// other test's timing.
    public func restart() async throws {
        process.stop()
        try await process.startOffPool(arguments: arguments, port: port, log: directory.appendingPathComponent("redis.log"))
    }

    /// Stalls the server for `duration`: every other client waits, then gets what it had sent run.
    /// `busy`: with a script that loops (so clients are answered BUSY past `busy-reply-threshold`,
    /// and a core is burnt meanwhile); otherwise with DEBUG SLEEP, which burns nothing. Returns at
    /// once; the task ends when the server is free again.
    public func stall(for duration: Duration, busy: Bool = false) -> Task<Void, any Error> {
        let client = RedisClient(endpoint: endpoint, commandTimeout: duration + .seconds(10))
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        return Task {
            defer { client.close() }
            if busy {
                try await client.send(
                    "EVAL",
                    """
                    local s = redis.call('TIME')
                    repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > tonumber(ARGV[1])
                    return 1
                    """, "0", String(micros))
            } else {
                try await client.send("DEBUG", "SLEEP", String(Double(micros) / 1_000_000))
            }
        }
    }

    /// Freezes the server (SIGSTOP) until `thaw()`: it neither reads nor answers, so whatever is
    /// written to it fills the sockets' buffers and then blocks. Unlike `stall`, it is in force
    /// the moment this returns and lasts exactly as long as the test needs, however loaded the
    /// machine.
    public func freeze() { process.signal(SIGSTOP) }

    /// Lets a frozen server run again.
    public func thaw() { process.signal(SIGCONT) }

    /// A `redis-cli`-like helper for assertions: runs one command on a fresh connection.
    public func command(_ arguments: String...) async throws -> RedisValue {
        let client = RedisClient(endpoint: endpoint)
        defer { client.close() }
        return try await client.send(RedisCommand(arguments: arguments))
    }
}

/// The server process, started and stopped under a lock.
final class ProcessBox: Sendable {
    private let state = LockedValue<ChildProcess?>(nil)

    /// `start`, waited for on a thread of its own.
    func startOffPool(arguments: [String], port: Int, log: URL?) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                do {
                    try self.start(arguments: arguments, port: port, log: log)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Starts the process and waits (bounded) until it is ready. With `log`, ready means this run
    /// wrote "Ready to accept connections" there: a port that merely answers may be another test's
    /// server, which took the port between our finding it free and this one binding it (this one
    /// then exits, a moment too late for the check).
    func start(arguments: [String], port: Int, executable: String = RedisServerBinary.path, log: URL? = nil) throws {
        let logStart = log.flatMap { (try? FileManager.default.attributesOfItem(atPath: $0.path))?[.size] as? Int } ?? 0
        let process = try ChildProcess(executable, arguments)
        state.set(process)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning { throw TestFailure("redis-server exited at start-up (port \(port) taken?)") }
            if let log {
                if let text = try? Data(contentsOf: log), text.count > logStart,
                    String(decoding: text[logStart...], as: UTF8.self).contains("Ready to accept connections"), FreePort.isListening(port)
                {
                    return
                }
            } else if FreePort.isListening(port) {
                return
            }
            usleep(10_000)
        }
        process.signal(SIGKILL)
        throw TestFailure("redis-server did not listen on \(port) within 10 s")
    }

    /// SIGTERM: redis-server flushes its AOF and exits; killed if it takes longer than 30 s.
    func terminate() {
        guard let process = state.take() else { return }
        process.signal(SIGTERM)
        if process.waitBlocking(timeout: .seconds(30)) == nil {
            process.signal(SIGKILL)
            _ = process.waitBlocking(timeout: .seconds(10))
        }
    }

    func signal(_ signal: Int32) {
        state.withLock { $0?.signal(signal) }
    }

    func stop() {
        guard let process = state.take() else { return }
        process.signal(SIGKILL)
        _ = process.waitBlocking(timeout: .seconds(10))
    }
}

enum RedisServerBinary {
    static var path: String {
        for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "/usr/bin/redis-server"
    }
}
