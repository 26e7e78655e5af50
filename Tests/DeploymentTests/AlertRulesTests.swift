import Foundation
import TestSupport
import Testing

/// deploy/prometheus/alerts.yml as Prometheus' own tool reads it: valid rules, and each alert
/// firing when it should and silent when it should not (alerts.test.yml).
@Suite struct AlertRulesTests {
    static let folder = DeploymentTests.root.appendingPathComponent("deploy/prometheus")

    @Test func theRulesAreValid() async throws {
        let checked = try await ChildProcess.run("/usr/bin/promtool", ["check", "rules", "alerts.yml"], directory: Self.folder.path)
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stdout.contains("SUCCESS: 8 rules found"), "\(checked.stdout)")
    }

    @Test func eachAlertFiresWhenItShouldAndOnlyThen() async throws {
        let tested = try await ChildProcess.run("/usr/bin/promtool", ["test", "rules", "alerts.test.yml"], directory: Self.folder.path)
        #expect(tested.status == 0, "\(tested.stdout)\(tested.stderr)")
        #expect(tested.stdout.contains("SUCCESS"), "\(tested.stdout)")
    }

    /// Every metric the alerts and the dashboard name is one Switchboard exports.
    @Test func theAlertsAndTheDashboardNameOnlyExportedMetrics() throws {
        let exported: Set<String> = [
            "switchboard_queue_depth", "switchboard_queue_pending", "switchboard_queue_lag", "switchboard_queue_oldest_waiting_age_seconds",
            "switchboard_queue_delayed", "switchboard_queue_dead", "switchboard_queue_consumers", "switchboard_queue_paused",
            "switchboard_redis_up", "switchboard_queue_gauges_read_seconds", "switchboard_jobs_total",
            "switchboard_job_duration_seconds_bucket",
            "switchboard_job_duration_seconds",
            "switchboard_scheduler_leader", "switchboard_schedule_due_tick_timestamp_seconds",
            "switchboard_schedule_fired_tick_timestamp_seconds",
        ]
        let alerts = Self.folder.appendingPathComponent("alerts.yml")
        let dashboard = DeploymentTests.root.appendingPathComponent("deploy/grafana/switchboard.json")
        let text = try String(contentsOf: alerts, encoding: .utf8) + String(contentsOf: dashboard, encoding: .utf8)
        let named = Set(text.matches(of: /switchboard_[a-z_]+/).map { String($0.output) })
        #expect(!named.isEmpty)
        #expect(named.subtracting(exported).isEmpty, "not exported: \(named.subtracting(exported).sorted())")
        // And each of those is a label the sources give a metric.
        var code = ""
        let sources = FileManager.default.enumerator(
            at: DeploymentTests.root.appendingPathComponent("Sources"), includingPropertiesForKeys: nil)
        while let file = sources?.nextObject() as? URL {
            if file.pathExtension == "swift" { code += try String(contentsOf: file, encoding: .utf8) }
        }
        for name in exported {
            let label = name.hasSuffix("_bucket") ? String(name.dropLast("_bucket".count)) : name
            #expect(code.contains("label: \"\(label)\""), "no metric is labelled \(label) in Sources")
        }
    }
}
