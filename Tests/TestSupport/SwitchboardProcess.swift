import Foundation

/// The `switchboard` executable run as a child process, as an operator would run it: for tests
/// that kill -9 a consumer, send it SIGTERM, or read what it logs.
public final class SwitchboardProcess: Sendable {
    private let child: ChildProcess
    public let arguments: [String]

    /// Where the built `switchboard` is: beside the test bundle, or `SWITCHBOARD_BIN`.
    public static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["SWITCHBOARD_BIN"] { return URL(fileURLWithPath: path) }
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("switchboard")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/switchboard")
    }

    /// Starts `switchboard ARGUMENTS…` with `environment` added to this process's.
    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
        var env = ProcessInfo.processInfo.environment
        env["LOG_LEVEL"] = env["LOG_LEVEL"] ?? "info"
        for (key, value) in environment { env[key] = value }
        child = try ChildProcess(Self.executable.path, arguments, environment: env, stdout: .capture, mergeStandardError: true)
        self.arguments = arguments
    }

    /// Everything it printed so far (standard output and error together).
    public var log: String { child.standardOutput }
    public var pid: Int32 { child.pid }
    public var isRunning: Bool { child.isRunning }

    /// Waits (bounded) until the output pipe reached end of file, so `log` holds everything.
    public func outputClosed(timeout: Duration = .seconds(5)) async -> Bool {
        await child.outputClosed(timeout: timeout)
    }

    public func signal(_ signal: Int32) {
        child.signal(signal)
    }

    /// Waits (bounded) for the process to exit; returns its exit status (negative: the signal that
    /// killed it), or nil on time-out.
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        await child.wait(timeout: timeout)
    }

    /// True once this very process listens on `port` and answers `/healthz` there. Something
    /// answering is not enough: another test's server that took the port first answers the same
    /// probe (even the same console token) and may go away mid-test.
    public func serves(on port: Int) async -> Bool {
        guard await HTTPProbe.get(port: port, path: "/healthz")?.status == 200 else { return false }
        return ListeningSocket.isHeld(port: port, by: pid)
    }

    /// Starts a process that serves HTTP on a port of its own — `arguments(port)` with a port found
    /// free — and waits until it listens there itself and answers `/healthz`. A port found free can be taken by another
    /// test's server before the process binds it; the process then exits saying the address is in
    /// use, and another port is tried.
    public static func serving(
        environment: [String: String] = [:], timeout: Duration = .seconds(20),
        _ arguments: (Int) -> [String]
    ) async throws -> (process: SwitchboardProcess, port: Int) {
        var lastLog = ""
        for _ in 0..<5 {
            let port = try FreePort.find()
            let process = try SwitchboardProcess(arguments(port), environment: environment)
            let answered = await eventually(timeout: timeout) { await process.serves(on: port) || !process.isRunning }
            if answered && process.isRunning { return (process, port) }
            if process.isRunning { process.signal(SIGKILL) }
            _ = await process.waitForExit(timeout: .seconds(5))
            _ = await process.outputClosed()
            lastLog = process.log
            guard lastLog.lowercased().contains("address already in use") else { break }
        }
        throw TestFailure("switchboard \(arguments(0).first ?? "") did not start serving: \(lastLog.suffix(2000))")
    }

    /// Runs `switchboard ARGUMENTS…` to completion and returns its exit status and output.
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> (
        status: Int32, output: String
    ) {
        let process = try SwitchboardProcess(arguments, environment: environment)
        guard let status = await process.waitForExit(timeout: timeout) else {
            process.signal(SIGKILL)
            throw TestFailure("switchboard \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        _ = await process.outputClosed()
        return (status, process.log)
    }
}
