import ArgumentParser

/// `switchboardbench`: the benchmarks of the engine, the shared limits, the queue gauges and the
/// ingress yardstick, kept out of the production binary. Each prints its figures; build with
/// `-c release` for meaningful ones.
@main
struct SwitchboardBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboardbench",
        abstract: "Benchmarks of Switchboard's engine, limits, gauges and ingress yardstick.",
        subcommands: [
            EngineCommand.self, LimitsCommand.self, GaugesCommand.self, AutoscaleBenchCommand.self, PrivacyBenchCommand.self,
            BaselineCommand.self,
        ]
    )
}
