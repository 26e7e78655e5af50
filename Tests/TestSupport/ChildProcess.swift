import Foundation
import Services

/// A child process for tests: the production `Subprocess` (posix_spawn, waitpid on its own pid,
/// nothing inherited but the standard streams) with its output captured whole, input written
/// for it, and a kill when the test lets go of it. Tests never use Foundation's `Process`, which
/// can miss a child's exit and once hung a whole CI run.
public final class ChildProcess: Sendable {
    /// Where a child's standard output or error goes.
    public enum Sink: Sendable {
        case discard
        case capture
    }

    private let process: Subprocess
    public var pid: pid_t { process.pid }
    private let stdoutText: PipeCapture?
    private let stderrText: PipeCapture?

    /// Starts `executable` with `arguments`. `mergeStandardError` sends standard error into the
    /// standard output capture. `input`, when given, is written to standard input, which is then closed.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        stdout: Sink = .discard, stderr: Sink = .discard, mergeStandardError: Bool = false, input: String? = nil
    ) throws {
        do {
            process = try Subprocess(
                executable, arguments, environment: environment ?? ProcessInfo.processInfo.environment, directory: directory,
                input: input != nil, output: stdout == .capture ? .pipe : .discard,
                error: mergeStandardError ? .standardOutput : stderr == .capture ? .pipe : .discard)
        } catch {
            throw TestFailure("\(error)")
        }
        stdoutText = process.standardOutput.map { PipeCapture(fd: $0) }
        stderrText = process.standardError.map { PipeCapture(fd: $0) }
        if let input, let fd = process.standardInput {
            let bytes = Array(input.utf8)
            let writer = Thread {
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                    if written <= 0 { break }
                    offset += written
                }
                close(fd)
            }
            writer.start()
        }
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = waitBlocking(timeout: .seconds(10))
        }
    }

    /// The exit status once the child has exited (negative: killed by that signal), else nil.
    public var exitStatus: Int32? { process.exitStatus }

    public var isRunning: Bool { exitStatus == nil }

    public func signal(_ signal: Int32) {
        process.signal(signal)
    }

    /// Waits (bounded) for the child to exit; its status, or nil on time-out.
    public func wait(timeout: Duration = .seconds(30)) async -> Int32? {
        await process.wait(timeout: timeout)
    }

    /// The same wait for code that cannot suspend (deinitialisers, synchronous helpers).
    public func waitBlocking(timeout: Duration = .seconds(30)) -> Int32? {
        process.waitBlocking(timeout: timeout)
    }

    /// Standard output captured so far (with standard error when merged).
    public var standardOutput: String { stdoutText?.text ?? "" }
    public var standardError: String { stderrText?.text ?? "" }

    /// Waits (bounded) until every captured stream reached end of file.
    public func outputClosed(timeout: Duration = .seconds(5)) async -> Bool {
        await eventually(timeout: timeout, every: .milliseconds(5)) {
            (stdoutText?.finished ?? true) && (stderrText?.finished ?? true)
        }
    }

    /// The same run for synchronous callers: blocks the calling thread (bounded).
    public static func runBlocking(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        input: String? = nil, timeout: Duration = .seconds(60)
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(
            executable, arguments, environment: environment, directory: directory, stdout: .capture, stderr: .capture, input: input)
        guard let status = child.waitBlocking(timeout: timeout) else {
            child.signal(SIGKILL)
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while !((child.stdoutText?.finished ?? true) && (child.stderrText?.finished ?? true)), ContinuousClock.now < deadline {
            usleep(2_000)
        }
        return (status, child.standardOutput, child.standardError)
    }

    /// Runs a child to completion (bounded; killed on time-out) and returns status and output.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        input: String? = nil, timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(
            executable, arguments, environment: environment, directory: directory, stdout: .capture, stderr: .capture, input: input)
        guard let status = await child.wait(timeout: timeout) else {
            child.signal(SIGKILL)
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        _ = await child.outputClosed()
        return (status, child.standardOutput, child.standardError)
    }
}
