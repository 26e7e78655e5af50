import Foundation
import Queue

/// What a consumer service may do, as its labels in stack.yml say (`deploy.labels`):
///
/// - `switchboard.autoscale.min`, `switchboard.autoscale.max`: the replicas it may run (`min` 0 lets
///   a background service sleep until work arrives);
/// - `switchboard.autoscale.queues`: the queues it serves, comma-separated (as its `--queues`);
/// - `switchboard.autoscale.target`: how long its oldest waiting job may wait (`10s` for a guest's
///   queues, `5m` for calls and backups);
/// - `switchboard.autoscale.cooldown` (default `5m`): how long it must be idle before it is scaled
///   down, and how long after a change before another one down.
///
/// Refused as a whole, naming the service and the label, when anything is not what it should be:
/// a service is never scaled on a guess.
public struct ScalingRules: Sendable, Equatable {
    public static let prefix = "switchboard.autoscale."
    public static let marker = prefix + "max"

    public var service: String
    public var minimum: Int
    public var maximum: Int
    public var queues: [String]
    /// Milliseconds the oldest waiting job may wait.
    public var target: Int
    public var cooldown: Int

    public init(service: String, minimum: Int, maximum: Int, queues: [String], target: Int, cooldown: Int = 300_000) {
        self.service = service
        self.minimum = minimum
        self.maximum = maximum
        self.queues = queues
        self.target = target
        self.cooldown = cooldown
    }

    /// The rules `labels` give service `service`; `known` are the queues of this build.
    public static func read(service: String, labels: [String: String], known: [String]) throws -> ScalingRules {
        func label(_ name: String) throws -> String {
            guard let value = labels[prefix + name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
                throw ScalingRulesError(service, "has no \(prefix)\(name) label")
            }
            return value
        }
        func count(_ name: String) throws -> Int {
            let text = try label(name)
            guard let value = Int(text), (0...100).contains(value) else {
                throw ScalingRulesError(service, "\(prefix)\(name) '\(text.prefix(20))' is not a number of replicas from 0 to 100")
            }
            return value
        }
        func duration(_ name: String, _ text: String) throws -> Int {
            guard let milliseconds = Age.milliseconds(text), milliseconds >= 1_000, milliseconds <= 86_400_000 else {
                throw ScalingRulesError(
                    service, "\(prefix)\(name) '\(text.prefix(20))' is not a duration from 1s to 24h such as 10s, 5m or 1h")
            }
            return Int(milliseconds)
        }
        let minimum = try count("min")
        let maximum = try count("max")
        guard maximum >= 1 else { throw ScalingRulesError(service, "\(prefix)max must be at least 1") }
        guard minimum <= maximum else { throw ScalingRulesError(service, "\(prefix)min \(minimum) is above \(prefix)max \(maximum)") }
        let queues = try label("queues").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !queues.isEmpty else { throw ScalingRulesError(service, "\(prefix)queues names no queue") }
        for queue in queues where !known.contains(queue) {
            throw ScalingRulesError(service, "\(prefix)queues names '\(queue.prefix(40))', which no job kind of this build runs on")
        }
        let target = try duration("target", try label("target"))
        let cooldown = try labels[prefix + "cooldown"].map { try duration("cooldown", $0.trimmingCharacters(in: .whitespaces)) } ?? 300_000
        return ScalingRules(service: service, minimum: minimum, maximum: maximum, queues: queues, target: target, cooldown: cooldown)
    }
}

/// A service's autoscaling labels are not usable; says which service and what is wrong.
public struct ScalingRulesError: Error, CustomStringConvertible, Sendable {
    public let service: String
    public let problem: String
    public init(_ service: String, _ problem: String) {
        self.service = service
        self.problem = problem
    }
    public var description: String { "service \(service): \(problem)" }
}
