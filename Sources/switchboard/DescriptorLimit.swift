import Foundation
import Logging

/// The process's limit on open files, which bounds its connections: each is a descriptor, and a
/// process out of descriptors can no longer accept, open a file or reach Redis.
enum DescriptorLimit {
    /// Logs the limit, raising the soft limit to the hard one first; warns when it cannot cover
    /// `needed` connections plus the process's own descriptors.
    static func check(needed: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let available = Int(clamping: limit.rlim_cur)
        let reserve = 256
        if available < needed + reserve {
            logger.warning(
                "the open-file limit is below --max-connections plus what the process needs itself; raise it (ulimit -n, or the service's ulimits)",
                metadata: ["nofile": "\(available)", "max_connections": "\(needed)"])
        } else {
            logger.info("open-file limit", metadata: ["nofile": "\(available)", "max_connections": "\(needed)"])
        }
    }
}
