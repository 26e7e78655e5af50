import Logging

/// A logger that keeps every message, for tests that assert on what was logged.
public final class LogCapture: Sendable {
    private let messages = LockedValue<[String]>([])

    public init() {}

    public var logger: Logger {
        Logger(label: "capture") { _ in Handler(capture: self) }
    }

    public var lines: [String] { messages.value }

    public func count(containing text: String) -> Int { lines.filter { $0.contains(text) }.count }

    fileprivate func append(_ line: String) { messages.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            let fields = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            capture.append("\(event.level) \(event.message)\(fields)")
        }
    }
}
