import ArgumentParser
import Foundation
import Jobs

/// `switchboard flows`: the stage graph of this build, made from the same table the consumer's
/// queue checks and the catalogue use, so what it prints is what runs.
struct FlowsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flows",
        abstract: "List every job kind of this build: its flow, queue, next stages and the settings it needs.",
        discussion: """
            A kind marked 'entry' starts a flow (a webhook, an upload or the schedule enqueues it); the others \
            are enqueued by the stage before them, in the same flow (one flow id, shown by 'switchboard trace'). \
            A|B in the settings means one of the two. Needs no Redis.
            """
    )

    @Flag(help: "Print JSON (one object with a 'stages' array).")
    var json = false

    func run() throws {
        if json {
            let stages = StageGraph.stages.map { stage -> [String: Any] in
                [
                    "kind": stage.kind, "queue": stage.queue, "flow": stage.flow, "next": stage.next, "entry": stage.entry,
                    "needs": stage.needs.map(\.rawValue), "settings": stage.settings,
                ]
            }
            let data = try JSONSerialization.data(
                withJSONObject: ["stages": stages], options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        var rows = [["FLOW", "KIND", "QUEUE", "NEXT", "SETTINGS"]]
        for stage in StageGraph.stages {
            rows.append([
                stage.flow, stage.kind + (stage.entry ? " (entry)" : ""), stage.queue,
                stage.next.isEmpty ? "-" : stage.next.joined(separator: ", "),
                stage.needs.isEmpty ? "-" : stage.needs.map(\.rawValue).joined(separator: ", "),
            ])
        }
        print(Table.render(rows), terminator: "")
        print("")
        var groups = [["SETTINGS", "REQUIRED"]]
        for group in StageNeeds.allCases { groups.append([group.rawValue, group.settings.joined(separator: " ")]) }
        print(Table.render(groups), terminator: "")
    }
}
