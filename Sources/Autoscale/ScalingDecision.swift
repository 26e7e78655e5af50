import Foundation

/// How many replicas a service needs now, from its rules and what its queues show — a pure
/// function of its inputs, so every rule is tested without a clock, a Redis or an Engine.
///
/// Up as soon as the oldest waiting job has waited past the target: to the replicas that would
/// drain what waits within one target at the rate each replica was measured at (never fewer than
/// one more; twice as many while no rate is known yet), at most `max`. From zero as soon as work
/// waits. Down to `min` only once every queue of the service has been idle (nothing waiting,
/// nothing running) for the cool-down, and no change was made for as long. Never outside `min`
/// and `max`. A paused queue's waiting jobs ask for nobody: no replica would take them.
public struct ScalingDecision: Sendable, Equatable {
    public enum Direction: String, Sendable {
        case up
        case down
        case none
    }

    /// Why, as the decisions' metric labels it.
    public enum Reason: String, Sendable {
        case belowMin = "below_min"
        case aboveMax = "above_max"
        case woken
        case overTarget = "over_target"
        case idle
        case atMax = "at_max"
        case steady
    }

    /// What one service's queues show, summed over them.
    public struct Load: Sendable, Equatable {
        /// Jobs waiting (not yet taken) on queues that are not paused.
        public var waiting: Int
        /// Jobs running.
        public var running: Int
        /// How long the oldest waiting job has waited, in milliseconds.
        public var oldestWaiting: Int
        /// Jobs finished per second over the last whole minutes.
        public var perSecond: Double

        public init(waiting: Int, running: Int, oldestWaiting: Int, perSecond: Double) {
            self.waiting = waiting
            self.running = running
            self.oldestWaiting = oldestWaiting
            self.perSecond = perSecond
        }

        public var busy: Bool { waiting > 0 || running > 0 }
    }

    public var wanted: Int
    public var direction: Direction
    public var reason: Reason
    /// The decision in words, for the log.
    public var explanation: String

    /// `idleFor` and `sinceChange`: milliseconds the service's queues have been idle, and since its
    /// replicas last changed (as far as this autoscaler knows).
    public static func decide(_ rules: ScalingRules, current: Int, load: Load, idleFor: Int, sinceChange: Int) -> ScalingDecision {
        func made(_ wanted: Int, _ reason: Reason, _ explanation: String) -> ScalingDecision {
            ScalingDecision(
                wanted: wanted, direction: wanted > current ? .up : wanted < current ? .down : .none, reason: reason,
                explanation: explanation)
        }
        if current < rules.minimum { return made(rules.minimum, .belowMin, "\(current) replicas is below min \(rules.minimum)") }
        if current > rules.maximum { return made(rules.maximum, .aboveMax, "\(current) replicas is above max \(rules.maximum)") }
        if current == 0 && load.waiting > 0 {
            return made(max(1, rules.minimum), .woken, "\(load.waiting) jobs wait and no replica runs")
        }
        if load.waiting > 0 && load.oldestWaiting > rules.target {
            let targetSeconds = Double(rules.target) / 1000
            let perReplica = load.perSecond / Double(max(current, 1))
            let needed =
                perReplica > 0
                ? Int((Double(load.waiting) / (perReplica * targetSeconds)).rounded(.up)) : current * 2
            let wanted = min(rules.maximum, max(current + 1, needed))
            let rate = perReplica > 0 ? String(format: "%.2f jobs/s per replica", perReplica) : "no rate measured yet"
            let said =
                "the oldest of \(load.waiting) waiting jobs has waited \(load.oldestWaiting / 1000) s, over the target of \(rules.target / 1000) s (\(rate))"
            return wanted > current ? made(wanted, .overTarget, said) : made(current, .atMax, said + "; already at max")
        }
        if !load.busy && idleFor >= rules.cooldown && sinceChange >= rules.cooldown && current > rules.minimum {
            return made(rules.minimum, .idle, "idle for \(idleFor / 1000) s, past the cool-down of \(rules.cooldown / 1000) s")
        }
        return made(current, .steady, "within the target")
    }
}
