import Blobs
import Foundation
import Hummingbird
import Jobs
import Logging
import Producer
import Prometheus
import Queue
import Redis
import Services
import TestSupport

/// `flowbench`: each flow end to end, from the webhook (or upload) reaching the real producer to
/// the last request reaching the fake Chatwoot, through a real Redis and the real consumer, with
/// the services faked on loopback (optionally answering after `--service-ms`). One delivery at a
/// time, so everything the fakes spend between the webhook and the reply belongs to that delivery:
/// the time a flow spends in Switchboard is its total minus the time the fakes took to answer
/// (loopback HTTP counts as ours). Prints p50/p99 of both, per flow and per stage.
@main
struct FlowBench {
    struct Options {
        var runs = 200
        var flows = ["chat", "voice", "call", "booking"]
        var serviceDelay = Duration.zero

        init(_ arguments: [String]) {
            var iterator = arguments.dropFirst().makeIterator()
            while let argument = iterator.next() {
                switch argument {
                case "--runs": runs = iterator.next().flatMap(Int.init) ?? runs
                case "--flows": flows = iterator.next()?.split(separator: ",").map(String.init) ?? flows
                case "--service-ms": serviceDelay = .milliseconds(iterator.next().flatMap(Int.init) ?? 0)
                default:
                    print("usage: flowbench [--runs N] [--flows chat,voice,call,booking] [--service-ms N]")
                    exit(2)
                }
            }
        }
    }

    static func main() async throws {
        let options = Options(CommandLine.arguments)
        let world = try await BenchWorld(serviceDelay: options.serviceDelay)
        print(
            "flowbench: \(options.runs) deliveries per flow, one at a time; fakes answer after \(options.serviceDelay); release build: \(isRelease)"
        )
        print(Row.header)
        for flow in options.flows {
            guard let scenario = world.scenarios[flow] else { print("unknown flow \(flow)"); exit(2) }
            // A few deliveries first, so connections and collections exist before we count.
            for index in 0..<5 { _ = try await world.measure(scenario, index: 1_000_000 + index) }
            var totals: [Double] = []
            var waits: [Double] = []
            for index in 0..<options.runs {
                let (total, wait) = try await world.measure(scenario, index: index)
                totals.append(total)
                waits.append(wait)
            }
            print(Row(flow: flow, stages: scenario.stages, totals: totals, waits: waits).text)
        }
        print("peak RSS of this process (producer + consumer + fakes): \(String(format: "%.1f", peakRSSMB())) MB")
        try await world.stop()
        exit(0)
    }

    static var isRelease: Bool {
        #if DEBUG
            false
        #else
            true
        #endif
    }

    static func peakRSSMB() -> Double {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
    }
}

/// One line of the report: a flow's latency from delivery to its last Chatwoot request, the part
/// of it the fakes spent answering, and the rest — Switchboard's own — in total and per stage.
struct Row {
    let flow: String
    let stages: Int
    let totals: [Double]
    let waits: [Double]

    static let header = "flow      stages  total p50   p99  |  services p50   p99  |  ours p50   p99  per stage p50   p99   (ms)"

    var text: String {
        let ours = zip(totals, waits).map { $0 - $1 }
        func p(_ values: [Double], _ q: Double) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)]
        }
        func f(_ value: Double) -> String { String(format: "%6.2f", value) }
        return
            "\(flow.padding(toLength: 9, withPad: " ", startingAt: 0)) \(String(format: "%4d", stages))   \(f(p(totals, 0.5))) \(f(p(totals, 0.99)))  |"
            + "      \(f(p(waits, 0.5))) \(f(p(waits, 0.99)))  |  \(f(p(ours, 0.5))) \(f(p(ours, 0.99)))"
            + "        \(f(p(ours, 0.5) / Double(stages))) \(f(p(ours, 0.99) / Double(stages)))"
    }
}
