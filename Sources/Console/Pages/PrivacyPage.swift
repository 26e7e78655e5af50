import Foundation
import Jobs
import Queue

extension Pages {
    /// The Privacy page: the form, whether a consumer serves the privacy queue, the last retention
    /// run, and the privacy actions of the audit.
    func privacy() async throws -> [String: Any] {
        let consumers = try await inspector.gauges([PrivacyJobs.queue]).first?.consumers ?? 0
        let audit = try await AuditLog(pool: broker.pool, keys: broker.keys).latest(200).filter { $0.action.hasPrefix("privacy.") }
        let retention = try await RetentionSweep.lastReport(pool: broker.pool, keys: broker.keys)
        return [
            "noConsumer": consumers == 0,
            "actions": audit.prefix(20).map { entry -> [String: Any] in
                [
                    "at": Format.time(entry.at), "who": entry.who, "action": entry.action, "target": entry.target,
                    "count": String(entry.count),
                ]
            },
            "hasActions": !audit.isEmpty,
            "retention": (retention?.rows ?? []).map { row -> [String: Any] in
                ["setting": row.setting, "kept": row.kept, "what": row.what, "oldest": row.oldest ?? "-", "removed": String(row.removed)]
            },
            "retentionAt": retention.map { Format.time($0.finishedAt) } ?? "",
        ]
    }

    /// A privacy run: waiting, or its report place by place — with, after a look, the form that forgets.
    func privacyRun(_ id: String) async throws -> [String: Any] {
        var context: [String: Any] = ["id": id]
        guard let report = try await PrivacyJobs.report(id, pool: broker.pool, keys: broker.keys) else {
            context["waiting"] = true
            context["noConsumer"] = (try await inspector.gauges([PrivacyJobs.queue]).first?.consumers ?? 0) == 0
            return context
        }
        context["subject"] = report.subject
        context["forgot"] = report.forgot
        context["looked"] = !report.forgot && !report.dryRun
        context["held"] = String(report.held)
        context["removed"] = String(report.removed)
        context["failed"] = report.failed ?? ""
        context["stillRunning"] = report.stillRunning > 0 ? String(report.stillRunning) : ""
        context["chatwootContacts"] = report.chatwootContacts.map(String.init).joined(separator: ", ")
        context["nothing"] = report.held == 0 && report.removed == 0
        context["places"] = report.places.filter { $0.held > 0 || $0.removed > 0 || !$0.notes.isEmpty }.map { place -> [String: Any] in
            [
                "place": place.place, "held": String(place.held), "removed": String(place.removed),
                "items": place.items.map { ["what": $0.what, "at": $0.at ?? ""] },
                "more": place.held > place.items.count ? String(place.held - place.items.count) : "", "notes": place.notes,
            ]
        }
        return context
    }
}
