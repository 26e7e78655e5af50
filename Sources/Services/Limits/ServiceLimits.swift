import Foundation

/// Every service's limit as this process was configured: `RATE_LIMIT_<SERVICE>` (`30/min`, `5/s`,
/// `3600/h`, or `none`) and `CONCURRENCY_<SERVICE>` (calls in flight across the deployment, or
/// `none`), each falling back to the vendor's published limit. Give every replica the same values:
/// each enforces the limit it was given on the shared state.
public struct ServiceLimits: Sendable, Equatable {
    public private(set) var limits: [ExternalService: ServiceLimit]

    public init(_ limits: [ExternalService: ServiceLimit] = [:]) {
        self.limits = limits
    }

    public subscript(service: ExternalService) -> ServiceLimit {
        limits[service] ?? ServiceLimit()
    }

    /// The published limits, with the environment's settings over them. Throws, naming the
    /// variable, for a malformed value — and for any `RATE_LIMIT_`/`CONCURRENCY_` name that is no
    /// service's, since a misspelt name would otherwise leave the service unlimited unnoticed.
    public static func configured(_ environment: [String: String]) throws -> ServiceLimits {
        var limits: [ExternalService: ServiceLimit] = [:]
        for service in ExternalService.allCases {
            var limit = service.publishedLimit
            let rateName = "RATE_LIMIT_\(service.settingName)"
            if let text = environment[rateName]?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                if isNone(text) {
                    limit.rate = nil
                } else if let rate = RateLimit.parse(text) {
                    limit.rate = rate
                } else {
                    throw ConfigurationError(
                        "\(rateName) '\(text)' is not a rate such as 30/min, 5/s or 3600/h (at most \(RateLimit.largestCount) per period), or none"
                    )
                }
            }
            let concurrencyName = "CONCURRENCY_\(service.settingName)"
            if let text = environment[concurrencyName]?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                if isNone(text) {
                    limit.concurrency = nil
                } else if let count = Int(text), (1...100_000).contains(count) {
                    limit.concurrency = count
                } else {
                    throw ConfigurationError("\(concurrencyName) '\(text)' is not a number of calls in flight from 1 to 100000, or none")
                }
            }
            limits[service] = limit
        }
        let known = Set(ExternalService.allCases.flatMap { ["RATE_LIMIT_\($0.settingName)", "CONCURRENCY_\($0.settingName)"] })
        if let unknown = environment.keys.sorted().first(where: {
            ($0.hasPrefix("RATE_LIMIT_") || $0.hasPrefix("CONCURRENCY_")) && !known.contains($0)
        }) {
            let services = ExternalService.allCases.map(\.settingName).joined(separator: ", ")
            throw ConfigurationError("\(unknown) names no service (services: \(services))")
        }
        return ServiceLimits(limits)
    }

    private static func isNone(_ text: String) -> Bool {
        ["none", "off", "unlimited"].contains(text.lowercased())
    }
}
