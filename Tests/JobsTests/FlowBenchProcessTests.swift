import Foundation
import TestSupport
import Testing

/// `flowbench` is the last step of `scripts/demo.sh`, the README's first command: every flow, one
/// delivery after another, from its webhook to the fake Chatwoot. Each delivery must end in a new
/// request there, or the benchmark (and the demo with it) stops after 30 s — as it did once
/// triage began writing only what changes and the benchmark sent the same booking again and again.
@Suite struct FlowBenchProcessTests {
    @Test func everyFlowRunsDeliveryAfterDeliveryAsTheDemoRunsThem() async throws {
        let flowbench = SwitchboardProcess.executable.deletingLastPathComponent().appendingPathComponent("flowbench").path
        #expect(FileManager.default.isExecutableFile(atPath: flowbench), "flowbench is built beside switchboard")
        let (status, output, errors) = try await ChildProcess.run(flowbench, ["--runs", "3"], timeout: .seconds(240))
        #expect(status == 0, "\(output)\n\(errors.suffix(2000))")
        for flow in ["chat", "voice", "call", "booking"] {
            #expect(output.split(separator: "\n").contains { $0.hasPrefix("\(flow) ") }, "no row for \(flow): \(output)")
        }
    }
}
