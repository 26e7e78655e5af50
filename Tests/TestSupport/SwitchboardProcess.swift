import Foundation

/// The `switchboard` executable run as a child process, as an operator would run it: for tests
/// that kill -9 a consumer, send it SIGTERM, or read what it logs.
public final class SwitchboardProcess: Sendable {
    private let process: LockedValue<Process?>
    private let output: LockedValue<String>
    private let closed: LockedValue<Bool>
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
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["LOG_LEVEL"] = env["LOG_LEVEL"] ?? "info"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = LockedValue("")
        let closed = LockedValue(false)
        try process.run()
        // Our copy of the write end must go, or the reader never sees end of file.
        try? pipe.fileHandleForWriting.close()
        // A plain blocking reader on a thread of its own, rather than FileHandle.readabilityHandler:
        // a dispatch read source on Linux can crash the whole test process if the descriptor is
        // closed under it. The thread holds the pipe until end of file, then lets go.
        let reader = Thread {
            let handle = pipe.fileHandleForReading
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                output.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
            closed.set(true)
        }
        reader.start()
        self.process = LockedValue(process)
        self.output = output
        self.closed = closed
        self.arguments = arguments
    }

    deinit {
        if let process = process.value, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Everything it printed so far (standard output and error together).
    public var log: String { output.value }
    public var pid: Int32 { process.value?.processIdentifier ?? 0 }
    public var isRunning: Bool { process.value?.isRunning ?? false }

    /// Waits (bounded) until the output pipe reached end of file, so `log` holds everything.
    public func outputClosed(timeout: Duration = .seconds(5)) async -> Bool {
        await eventually(timeout: timeout, every: .milliseconds(5)) { closed.value }
    }

    public func signal(_ signal: Int32) {
        if let process = process.value, process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits (bounded) for the process to exit; returns its exit status, or nil on time-out.
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        guard let process = process.value else { return nil }
        let exited = await eventually(timeout: timeout, every: .milliseconds(20)) { !process.isRunning }
        guard exited else { return nil }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
    }

    /// Runs `switchboard ARGUMENTS…` to completion and returns its exit status and output.
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
        let process = try SwitchboardProcess(arguments, environment: environment)
        guard let status = await process.waitForExit(timeout: timeout) else {
            process.signal(SIGKILL)
            throw TestFailure("switchboard \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        _ = await process.outputClosed()
        return (status, process.log)
    }
}
