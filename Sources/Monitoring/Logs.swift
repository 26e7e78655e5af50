import Foundation
import Logging

/// How every Switchboard process logs: to standard error, at the level `LOG_LEVEL` names
/// (default info), set up once at start.
public enum Logs {
    public static func bootstrap(label: String = "switchboard") -> Logger {
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}
