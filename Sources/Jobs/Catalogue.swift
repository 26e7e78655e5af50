import Foundation
import Queue

/// Every job kind Switchboard knows, with its queue, retry policy and timeout. The consumer runs
/// what this lists; `switchboard consumer` without `--queues` reads every queue named here.
public enum Catalogue {
    /// The kinds this process can run: the diagnostic ones, and each flow whose services are given.
    public static func registry(environment: [String: String] = ProcessInfo.processInfo.environment, flows: FlowServices? = nil) -> JobRegistry {
        JobRegistry(Diagnostics.all(allowCrash: environment["SWITCHBOARD_ALLOW_CRASH_JOBS"] == "1") + (flows.map(flowDefinitions) ?? []))
    }

    static func flowDefinitions(_ services: FlowServices) -> [JobDefinition] {
        ChatFlow.definitions(services) + VoiceFlow.definitions(services) + CallFlow.definitions(services) + BookingFlow.definitions(services)
    }
}
