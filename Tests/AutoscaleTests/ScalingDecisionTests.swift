import Autoscale
import Testing

/// Each rule of a decision, without a clock, a Redis or an Engine.
struct ScalingDecisionTests {
    static let guests = ScalingRules(service: "llm", minimum: 1, maximum: 6, queues: ["retrieve"], target: 10_000, cooldown: 60_000)
    static let sleepy = ScalingRules(service: "backups", minimum: 0, maximum: 2, queues: ["backups"], target: 300_000, cooldown: 60_000)

    static func load(waiting: Int = 0, running: Int = 0, oldest: Int = 0, rate: Double = 0) -> ScalingDecision.Load {
        ScalingDecision.Load(waiting: waiting, running: running, oldestWaiting: oldest, perSecond: rate)
    }

    @Test func upInProportionToTheBacklogAndTheRatePerReplica() {
        // 2 replicas finishing 1 job/s each; 50 wait, the oldest 12 s: 50 / (1 × 10 s) = 5 replicas.
        let decision = ScalingDecision.decide(
            Self.guests, current: 2, load: Self.load(waiting: 50, running: 2, oldest: 12_000, rate: 2), idleFor: 0, sinceChange: 0)
        #expect(decision.wanted == 5 && decision.direction == .up && decision.reason == .overTarget, "\(decision)")
        // Far more than max could drain: max.
        let flood = ScalingDecision.decide(
            Self.guests, current: 2, load: Self.load(waiting: 5_000, oldest: 60_000, rate: 2), idleFor: 0, sinceChange: 0)
        #expect(flood.wanted == 6)
        // No rate measured yet: twice as many.
        let fresh = ScalingDecision.decide(Self.guests, current: 2, load: Self.load(waiting: 3, oldest: 11_000), idleFor: 0, sinceChange: 0)
        #expect(fresh.wanted == 4)
        // Few waiting and a fast replica: still one more, the target is passed.
        let few = ScalingDecision.decide(
            Self.guests, current: 2, load: Self.load(waiting: 1, oldest: 11_000, rate: 100), idleFor: 0, sinceChange: 0)
        #expect(few.wanted == 3)
    }

    @Test func withinTheTargetNothingChanges() {
        let decision = ScalingDecision.decide(
            Self.guests, current: 3, load: Self.load(waiting: 40, running: 3, oldest: 9_000, rate: 3), idleFor: 0, sinceChange: 999_999)
        #expect(decision.direction == .none && decision.reason == .steady)
        let atMax = ScalingDecision.decide(
            Self.guests, current: 6, load: Self.load(waiting: 400, oldest: 90_000), idleFor: 0, sinceChange: 0)
        #expect(atMax.direction == .none && atMax.reason == .atMax)
    }

    @Test func downToMinOnlyAfterTheCooldownIdle() {
        let idle = Self.load()
        #expect(ScalingDecision.decide(Self.guests, current: 4, load: idle, idleFor: 59_000, sinceChange: 600_000).direction == .none)
        #expect(ScalingDecision.decide(Self.guests, current: 4, load: idle, idleFor: 600_000, sinceChange: 59_000).direction == .none)
        let down = ScalingDecision.decide(Self.guests, current: 4, load: idle, idleFor: 60_000, sinceChange: 60_000)
        #expect(down.wanted == 1 && down.direction == .down && down.reason == .idle)
        // Running jobs are not idle, however long nothing waited.
        let running = ScalingDecision.decide(Self.guests, current: 4, load: Self.load(running: 1), idleFor: 600_000, sinceChange: 600_000)
        #expect(running.direction == .none)
    }

    @Test func aSleepingServiceWakesWhenWorkArrivesAndSleepsAgain() {
        let woken = ScalingDecision.decide(Self.sleepy, current: 0, load: Self.load(waiting: 1, oldest: 10), idleFor: 0, sinceChange: 0)
        #expect(woken.wanted == 1 && woken.reason == .woken)
        let asleep = ScalingDecision.decide(Self.sleepy, current: 1, load: Self.load(), idleFor: 60_000, sinceChange: 60_000)
        #expect(asleep.wanted == 0 && asleep.direction == .down)
        #expect(ScalingDecision.decide(Self.sleepy, current: 0, load: Self.load(), idleFor: 0, sinceChange: 0).direction == .none)
    }

    @Test func neverOutsideMinAndMax() {
        let below = ScalingDecision.decide(Self.guests, current: 0, load: Self.load(), idleFor: 0, sinceChange: 0)
        #expect(below.wanted == 1 && below.reason == .belowMin)
        let above = ScalingDecision.decide(
            Self.guests, current: 9, load: Self.load(waiting: 99, oldest: 99_000), idleFor: 0, sinceChange: 0)
        #expect(above.wanted == 6 && above.reason == .aboveMax)
        for current in 0...8 {
            for waiting in [0, 1, 100, 100_000] {
                for oldest in [0, 5_000, 20_000] {
                    let decision = ScalingDecision.decide(
                        Self.guests, current: current, load: Self.load(waiting: waiting, oldest: oldest, rate: 1.5), idleFor: 100_000,
                        sinceChange: 100_000)
                    #expect((1...6).contains(decision.wanted), "\(current) \(waiting) \(oldest): \(decision)")
                }
            }
        }
    }
}
