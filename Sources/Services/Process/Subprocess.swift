import Foundation
import Synchronization

/// A child process (a `pg_dump`, a test's redis-server), started with `posix_spawn` and reaped by
/// `waitpid` on its own pid.
///
/// Foundation's `Process` on Linux can miss a child's exit (the child stays a zombie and
/// `waitUntilExit()` spins), so it is not used. Here the child inherits nothing but the three
/// standard streams — a listening socket or a Redis connection of this process held by a child
/// would outlive this process's close of it — starts with default signal handling, and gets
/// exactly the environment it is given (a password passed in `PGPASSWORD` never shows in argv).
/// Every wait is bounded.
public final class Subprocess: Sendable {
    /// Where one of the child's output streams goes.
    public enum Output: Sendable, Equatable {
        case discard
        /// A pipe whose read end this object holds (`standardOutput`, `standardError`).
        case pipe
        /// Standard error only: into the same place as standard output.
        case standardOutput
    }

    public let pid: pid_t
    /// The parent's end of the child's standard input, when `input` was asked for; the caller
    /// writes and closes it.
    public let standardInput: Int32?
    /// The read ends of the pipes asked for; the caller reads and closes them.
    public let standardOutput: Int32?
    public let standardError: Int32?
    private let exit = Mutex<Int32?>(nil)

    private static let spawning = Mutex(())
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    // Glibc declares it only under _GNU_SOURCE, which Swift does not see: looked up by name.
    private static let addCloseFrom: AddCloseFrom? = dlsym(
        UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np"
    )
    .map { unsafeBitCast($0, to: AddCloseFrom.self) }

    /// Starts `executable` (a path) with `arguments` and exactly `environment`. `directory`, when
    /// given, is the child's working folder.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String], directory: String? = nil,
        input: Bool = false, output: Output = .discard, error: Output = .discard
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var childEnds: [Int32] = []
        defer { for fd in childEnds { close(fd) } }
        var parentEnds: [Int32?] = [nil, nil, nil]

        // Pipes are made close-on-exec and the child spawned under one lock, so a child started at
        // the same time never inherits another's pipe (Glibc's pipe2 is not visible to Swift).
        let pid = try Self.spawning.withLock { _ -> pid_t in
            func pipePair() throws -> (read: Int32, write: Int32) {
                var fds: [Int32] = [0, 0]
                guard pipe(&fds) == 0 else { throw SubprocessError("cannot start \(executable): pipe failed, errno \(errno)") }
                for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                return (fds[0], fds[1])
            }
            if input {
                let pair = try pipePair()
                posix_spawn_file_actions_adddup2(&actions, pair.read, 0)
                childEnds.append(pair.read)
                parentEnds[0] = pair.write
            } else {
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            }
            if output == .pipe {
                let pair = try pipePair()
                posix_spawn_file_actions_adddup2(&actions, pair.write, 1)
                if error == .standardOutput { posix_spawn_file_actions_adddup2(&actions, pair.write, 2) }
                childEnds.append(pair.write)
                parentEnds[1] = pair.read
            } else {
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
                if error == .standardOutput { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
            }
            if error == .pipe {
                let pair = try pipePair()
                posix_spawn_file_actions_adddup2(&actions, pair.write, 2)
                childEnds.append(pair.write)
                parentEnds[2] = pair.read
            } else if error == .discard {
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            }
            guard let closeFrom = Self.addCloseFrom, closeFrom(&actions, 3) == 0 else {
                throw SubprocessError(
                    "cannot start \(executable): posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later is needed)")
            }

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

            // A working folder is set through coreutils' `env --chdir` (posix_spawn's chdir action
            // is not visible to Swift either).
            let command = directory.map { ["/usr/bin/env", "--chdir=\($0)", executable] + arguments } ?? [executable] + arguments
            let argv = command.map { strdup($0) } + [nil]
            let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for pointer in argv + envp { free(pointer) } }
            var pid: pid_t = 0
            let status = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
            guard status == 0 else {
                for fd in parentEnds.compactMap({ $0 }) { close(fd) }
                throw SubprocessError("cannot start \(executable): \(String(cString: strerror(status)))")
            }
            return pid
        }
        self.pid = pid
        standardInput = parentEnds[0]
        standardOutput = parentEnds[1]
        standardError = parentEnds[2]
    }

    /// The exit status once the child has exited (negative: killed by that signal), else nil.
    /// Reaps the child the first time it is seen exited.
    public var exitStatus: Int32? {
        exit.withLock { exit in
            if let exit { return exit }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            let signal = status & 0x7f
            exit = signal == 0 ? (status >> 8) & 0xff : -signal
            return exit
        }
    }

    public var isRunning: Bool { exitStatus == nil }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits (bounded) for the child to exit; its status, or nil on time-out or cancellation.
    public func wait(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = exitStatus { return status }
            guard (try? await Task.sleep(for: .milliseconds(5))) != nil else { return exitStatus }
        }
        return exitStatus
    }

    /// The same wait for code that cannot suspend (deinitialisers, synchronous helpers).
    public func waitBlocking(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = exitStatus { return status }
            usleep(5_000)
        }
        return exitStatus
    }

    /// Stops the child: SIGTERM, then SIGKILL if it has not exited within `grace`; waits for it.
    public func stop(grace: Duration = .seconds(5)) async {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if await wait(timeout: grace) == nil {
            kill(pid, SIGKILL)
            _ = waitBlocking(timeout: .seconds(5))
        }
    }
}

/// A child process could not be started.
public struct SubprocessError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
