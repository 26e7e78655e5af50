import Foundation

/// What the benchmarks measure with: a process's memory from `/proc`, durations in seconds, medians.
public enum Measure {
    /// A `/proc/<pid>/status` figure (`VmRSS`, `VmHWM`) in KiB.
    public static func memory(_ pid: Int32, _ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return status.split(separator: "\n").first { $0.hasPrefix(field + ":") }.flatMap { line in
            Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
    }

    public static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// The middle value (the upper one of an even count).
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
