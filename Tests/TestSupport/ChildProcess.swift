import Foundation
import Synchronization

/// A child process for tests, started with `posix_spawn` and reaped with `waitpid` by this code.
///
/// Foundation's `Process` on Linux can miss a child's exit: the child stays a zombie, `isRunning`
/// stays true and `waitUntilExit()` spins forever. That hung a whole CI run, so tests never use it.
/// Here the exit is read by `waitpid` on the child's own pid, every wait is bounded, and output
/// is read by plain threads until end of file (the parent's pipe ends are close-on-exec, so one
/// child never holds another's pipe open).
public final class ChildProcess: Sendable {
    /// Where a child's standard output or error goes.
    public enum Sink: Sendable {
        case discard
        case capture
    }

    public let pid: pid_t
    private static let spawning = NSLock()
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddCloseFrom.self) }
    private let exit = Mutex<Int32?>(nil)
    private let stdoutText: CapturedStream?
    private let stderrText: CapturedStream?

    /// Starts `executable` with `arguments`. `mergeStandardError` sends standard error into the
    /// standard output capture. `input`, when given, is written to standard input, which is then closed.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                stdout: Sink = .discard, stderr: Sink = .discard, mergeStandardError: Bool = false, input: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { for fd in childEnds { close(fd) } }

        // Pipes are made close-on-exec and the child spawned under one lock, so a child started
        // concurrently never inherits another's pipe (Glibc's pipe2 is not visible to Swift).
        ChildProcess.spawning.lock()
        defer { ChildProcess.spawning.unlock() }
        func pipePair() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw TestFailure("pipe failed: errno \(errno)") }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }

        let inputPipe = try input.map { _ in try pipePair() }
        if let inputPipe {
            posix_spawn_file_actions_adddup2(&actions, inputPipe.read, 0)
            childEnds.append(inputPipe.read)
            parentEnds.append(inputPipe.write)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        var outRead: Int32?
        if stdout == .capture {
            let pair = try pipePair()
            posix_spawn_file_actions_adddup2(&actions, pair.write, 1)
            if mergeStandardError { posix_spawn_file_actions_adddup2(&actions, pair.write, 2) }
            childEnds.append(pair.write)
            outRead = pair.read
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            if mergeStandardError { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
        }
        var errRead: Int32?
        if !mergeStandardError {
            if stderr == .capture {
                let pair = try pipePair()
                posix_spawn_file_actions_adddup2(&actions, pair.write, 2)
                childEnds.append(pair.write)
                errRead = pair.read
            } else {
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            }
        }

        // Nothing but the three standard streams is inherited: a listening socket or a connection
        // of this process held open by a child would outlive this process's close of it (an idle
        // connection the producer under test closed stayed open until a child consumer exited).
        // (Glibc declares `posix_spawn_file_actions_addclosefrom_np` only under _GNU_SOURCE, so it
        // is looked up by name.)
        guard let closeFrom = ChildProcess.addCloseFrom, closeFrom(&actions, 3) == 0 else {
            throw TestFailure("posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later is needed)")
        }

        // The child starts with no blocked signals and default handlers, whatever this process set.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environment = environment ?? ProcessInfo.processInfo.environment
        // A working folder is set through coreutils' `env --chdir` (posix_spawn's chdir action is
        // not visible to Swift either).
        let command = directory.map { ["/usr/bin/env", "--chdir=\($0)", executable] + arguments } ?? [executable] + arguments
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            for fd in parentEnds + [outRead, errRead].compactMap({ $0 }) { close(fd) }
            throw TestFailure("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        self.pid = pid
        stdoutText = outRead.map(CapturedStream.init(fd:))
        stderrText = errRead.map(CapturedStream.init(fd:))
        if let input, let fd = parentEnds.first {
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
    /// Reaps the child the first time it is seen exited.
    public var exitStatus: Int32? {
        exit.withLock { exit in
            if let exit { return exit }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            guard result == pid else { return nil }
            let signal = status & 0x7f
            exit = signal == 0 ? (status >> 8) & 0xff : -signal
            return exit
        }
    }

    public var isRunning: Bool { exitStatus == nil }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits (bounded) for the child to exit; its status, or nil on time-out.
    public func wait(timeout: Duration = .seconds(30)) async -> Int32? {
        guard await eventually(timeout: timeout, every: .milliseconds(10), { exitStatus != nil }) else { return nil }
        return exitStatus
    }

    /// The same wait for code that cannot suspend (deinitialisers, synchronous helpers).
    public func waitBlocking(timeout: Duration = .seconds(30)) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = exitStatus { return status }
            usleep(5_000)
        }
        return exitStatus
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
    public static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                                   input: String? = nil, timeout: Duration = .seconds(60)) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, directory: directory, stdout: .capture, stderr: .capture, input: input)
        guard let status = child.waitBlocking(timeout: timeout) else {
            child.signal(SIGKILL)
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while !((child.stdoutText?.finished ?? true) && (child.stderrText?.finished ?? true)), ContinuousClock.now < deadline { usleep(2_000) }
        return (status, child.standardOutput, child.standardError)
    }

    /// Runs a child to completion (bounded; killed on time-out) and returns status and output.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                           input: String? = nil, timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, directory: directory, stdout: .capture, stderr: .capture, input: input)
        guard let status = await child.wait(timeout: timeout) else {
            child.signal(SIGKILL)
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        _ = await child.outputClosed()
        return (status, child.standardOutput, child.standardError)
    }
}

/// One pipe read to end of file by a plain thread of its own.
final class CapturedStream: Sendable {
    private let buffer = Mutex<[UInt8]>([])
    private let done = Mutex(false)

    init(fd: Int32) {
        let reader = Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                buffer.withLock { $0 += chunk[0..<count] }
            }
            close(fd)
            done.withLock { $0 = true }
        }
        reader.start()
    }

    var text: String { buffer.withLock { String(decoding: $0, as: UTF8.self) } }
    var finished: Bool { done.withLock { $0 } }
}
