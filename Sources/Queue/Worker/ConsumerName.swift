import Foundation

/// A consumer name unique to this process: host, pid and a random suffix. Swarm replicas have
/// distinct hostnames (container ids) and a restarted process gets a new suffix, so two live
/// processes never share a name and never see each other's pending entries as their own.
public enum ConsumerName {
    public static func make() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(suffix)"
    }
}
