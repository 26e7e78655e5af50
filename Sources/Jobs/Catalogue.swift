import Foundation
import Queue

/// Every job kind Switchboard knows, with its queue, retry policy and timeout. The consumer runs
/// what this lists; `switchboard consumer` without `--queues` reads every queue named here.
public enum Catalogue {
    public static func registry(environment: [String: String] = ProcessInfo.processInfo.environment) -> JobRegistry {
        JobRegistry(Diagnostics.all(allowCrash: environment["SWITCHBOARD_ALLOW_CRASH_JOBS"] == "1"))
    }
}
