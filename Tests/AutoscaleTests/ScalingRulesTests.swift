import Autoscale
import Testing

/// The labels a service scales by, and every way they can be wrong.
struct ScalingRulesTests {
    static let known = ["retrieve", "generate", "reply", "backups"]

    static func labels(_ extra: [String: String]) -> [String: String] {
        [
            "switchboard.autoscale.min": "1", "switchboard.autoscale.max": "4", "switchboard.autoscale.queues": "retrieve, generate",
            "switchboard.autoscale.target": "10s",
        ].merging(extra) { _, given in given }
    }

    @Test func labelsAsStackYmlWritesThem() throws {
        let rules = try ScalingRules.read(service: "s_llm", labels: Self.labels([:]), known: Self.known)
        #expect(rules == ScalingRules(service: "s_llm", minimum: 1, maximum: 4, queues: ["retrieve", "generate"], target: 10_000))
        let sleepy = try ScalingRules.read(
            service: "s_backups",
            labels: Self.labels([
                "switchboard.autoscale.min": "0", "switchboard.autoscale.queues": "backups", "switchboard.autoscale.target": "5m",
                "switchboard.autoscale.cooldown": "2m",
            ]), known: Self.known)
        #expect(sleepy.minimum == 0 && sleepy.target == 300_000 && sleepy.cooldown == 120_000)
    }

    @Test(arguments: [
        (["switchboard.autoscale.max": "0"], "max must be at least 1"),
        (["switchboard.autoscale.min": "5"], "min 5 is above switchboard.autoscale.max 4"),
        (["switchboard.autoscale.min": "-1"], "'-1' is not a number of replicas"),
        (["switchboard.autoscale.max": "lots"], "'lots' is not a number of replicas"),
        (["switchboard.autoscale.max": "1000"], "from 0 to 100"),
        (["switchboard.autoscale.queues": "retrieve,nope"], "'nope', which no job kind of this build runs on"),
        (["switchboard.autoscale.queues": " , "], "names no queue"),
        (["switchboard.autoscale.target": "soon"], "'soon' is not a duration"),
        (["switchboard.autoscale.target": "0s"], "is not a duration"),
        (["switchboard.autoscale.cooldown": "48h"], "cooldown '48h' is not a duration"),
        (["switchboard.autoscale.min": ""], "has no switchboard.autoscale.min label"),
    ])
    func nonsenseIsRefusedNamingTheServiceAndTheLabel(_ change: [String: String], _ said: String) {
        #expect {
            _ = try ScalingRules.read(service: "s_llm", labels: Self.labels(change), known: Self.known)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("service s_llm: ") && text.contains(said)
        }
    }
}
