import Autoscale
import Foundation
import Jobs
import Queue
import Redis
import Scheduler

/// What each page shows, read from Redis and shaped for its template. Every value a template
/// prints comes from here as text; the templates escape it.
struct Pages: Sendable {
    let broker: Broker
    let schedule: [ScheduleEntry]

    var inspector: Inspector { Inspector(broker: broker) }

    func queues() async throws -> [String] {
        try await inspector.queueNames(including: Catalogue.allQueues)
    }

    func overview() async throws -> [String: Any] {
        let names = try await queues()
        let gauges = try await inspector.gauges(names)
        let counts = try await inspector.perMinute(names, minutes: 60)
        var rows: [[String: Any]] = []
        for queue in gauges {
            let minutes = counts[queue.queue] ?? []
            let processed = minutes.map(\.processed)
            let failed = minutes.map(\.failed)
            rows.append([
                "name": queue.queue, "paused": queue.paused, "lag": queue.lag, "pending": queue.pending,
                "oldest": queue.lag > 0 ? Format.age(queue.oldestWaitingMilliseconds) : "-",
                "delayed": queue.delayed, "dead": queue.dead, "hasDead": queue.dead > 0, "consumers": queue.consumers,
                "noConsumer": queue.consumers == 0 && (queue.lag > 0 || queue.delayed > 0),
                "processedChart": Sparkline.svg(processed, colour: "#1a7f37"), "failedChart": Sparkline.svg(failed, colour: "#c62828"),
                "processedTotal": processed.reduce(0, +), "failedTotal": failed.reduce(0, +),
            ])
        }
        return ["queues": rows, "redisUp": true, "updated": Format.time(WallClock.unixMilliseconds())]
    }

    func queue(_ name: String) async throws -> [String: Any]? {
        guard try await queues().contains(name) else { return nil }
        guard let gauges = try await inspector.gauges([name]).first else { return nil }
        func listed(_ item: Inspector.Listed) -> [String: Any] {
            [
                "id": item.envelope?.id ?? item.entryID, "kind": item.envelope?.kind ?? "?", "flow": item.envelope?.flow ?? "",
                "attempt": item.envelope?.attempt ?? 0, "enqueued": item.envelope.map { Format.time($0.enqueuedAt) } ?? "-",
                "consumer": item.consumer ?? "", "idle": item.idleMilliseconds.map(Format.age) ?? "", "deliveries": item.deliveries ?? 0,
            ]
        }
        let running = try await inspector.running(name, count: 50).map(listed)
        let waiting = try await inspector.waiting(name, count: 50).map(listed)
        let delayed = try await inspector.delayed(name, count: 50).map { item -> [String: Any] in
            [
                "id": item.envelope.id, "kind": item.envelope.kind, "attempt": item.envelope.attempt, "due": Format.time(item.dueAt),
                "error": item.envelope.history.last?.error ?? "",
            ]
        }
        return [
            "name": name, "paused": gauges.paused, "lag": gauges.lag, "pending": gauges.pending, "retries": gauges.delayed,
            "dead": gauges.dead,
            "consumers": gauges.consumers, "oldest": gauges.lag > 0 ? Format.age(gauges.oldestWaitingMilliseconds) : "-",
            "running": running, "hasRunning": !running.isEmpty, "waiting": waiting, "hasWaiting": !waiting.isEmpty,
            "delayed": delayed, "hasDelayed": !delayed.isEmpty,
        ]
    }

    /// How many of each queue's newest letters a page reads at most: what a load (and each 5 s
    /// refresh) costs Chatwoot's Redis must not grow with the dead letters.
    static let deadLettersRead = 2000

    /// The dead letters a filter selects: the newest `limit` shown, and how many match — exactly
    /// for a queue filter (the streams' lengths), over the newest letters only for the others.
    func dead(_ filter: DeadLetters.Filter, limit: Int = 100) async throws -> [String: Any] {
        let letters = DeadLetters(broker: broker)
        let shown = try await letters.list(filter, limit: limit, scanning: Self.deadLettersRead)
        let counted = try await letters.count(filter, scanning: Self.deadLettersRead)
        let total = counted.count
        let rows = shown.map { item -> [String: Any] in
            [
                "id": item.jobID, "queue": item.queue, "entry": item.entryID, "kind": item.kind, "attempts": item.attempts,
                "failed": Format.time(item.buriedAt), "error": item.error,
            ]
        }
        let names = try await queues()
        return [
            "letters": rows, "hasLetters": !rows.isEmpty, "total": counted.exact ? "\(total)" : "\(total) or more", "shown": rows.count,
            "shownFewer": total > rows.count || !counted.exact,
            "counted": counted.exact ? "" : " (among the newest \(Self.deadLettersRead) of each queue)",
            "queues": names.map { ["name": $0, "selected": $0 == filter.queue] },
        ]
    }

    func letter(queue: String, entry: String) async throws -> [String: Any]? {
        guard let stored = try await broker.deadEntry(queue, entryID: entry) else { return nil }
        let item = DeadLetters.Item(queue: queue, entryID: stored.id, fields: stored.fields)
        let letter = item.letter
        func time(_ field: String) -> String { item.field(field).flatMap { UInt64($0) }.map(Format.time) ?? "-" }
        return [
            "id": item.jobID, "queue": queue, "entry": item.entryID, "kind": item.kind, "flow": item.field("flow") ?? item.jobID,
            "attempts": item.field("attempt") ?? "?", "maxAttempts": item.field("max_attempts") ?? "?",
            "enqueued": time("enqueued_at"), "firstFailed": time("first_failed_at"), "lastFailed": time("last_failed_at"),
            "error": item.error, "payload": Format.prettyJSON(item.field("payload") ?? item.field("raw") ?? ""),
            "history": (letter?.envelope.history ?? []).map { ["attempt": $0.attempt, "at": Format.time($0.at), "error": $0.error] },
        ]
    }

    func schedules() async throws -> [String: Any] {
        let board = ScheduleBoard(broker: broker)
        let rows = try await board.rows(schedule).map { row -> [String: Any] in
            var fields: [String: Any] = [
                "name": row.name, "cron": row.cron, "zone": row.zone, "kind": row.kind, "queue": row.queue,
                "next": row.next.map { Format.time(UInt64($0) * 1000) } ?? "never",
                "last": row.last.map { Format.time(UInt64($0.tick) * 1000) } ?? "-", "dead": row.lastOutcome == "dead",
            ]
            if let job = row.last?.jobID { fields["job"] = job }
            return fields
        }
        var page: [String: Any] = ["rows": rows, "hasRows": !rows.isEmpty]
        if let leader = try await board.leader() {
            page["leader"] = ["replica": leader.replica, "left": Format.age(leader.leaseLeftMilliseconds)]
        }
        return page
    }

    func trace(_ id: String) async throws -> [String: Any] {
        guard !id.isEmpty else { return [:] }
        guard id.count <= 128, let trace = try await FlowTracer(broker: broker).trace(id, queues: Catalogue.allQueues) else {
            return ["id": id, "missing": true]
        }
        let steps = trace.steps.map { step -> [String: Any] in
            let detail = step.detail(age: Format.age, time: Format.time)
            var fields: [String: Any] = [
                "at": Format.time(step.at), "queue": step.queue, "kind": step.kind, "job": step.jobID, "attempt": step.attempt,
                "state": step.state.rawValue, "took": step.milliseconds.map { Format.age(Int(clamping: $0)) } ?? "-", "detail": detail,
            ]
            if let letter = step.entryID { fields["letter"] = letter }
            return fields
        }
        return ["id": id, "flow": trace.flow, "steps": steps, "truncated": trace.truncated]
    }

    func consumers() async throws -> [String: Any] {
        let rows = try await inspector.consumers(try await queues()).map { consumer -> [String: Any] in
            [
                "name": consumer.name, "host": consumer.host, "queues": consumer.queues.joined(separator: ", "),
                "pending": consumer.pending,
                "seen": consumer.idleMilliseconds == Int.max ? "-" : Format.age(consumer.idleMilliseconds),
            ]
        }
        var context: [String: Any] = ["consumers": rows, "hasConsumers": !rows.isEmpty]
        if let snapshot = try await AutoscaleState(pool: broker.pool, keys: broker.keys).latest() {
            context["autoscaled"] = snapshot.services.map { service -> [String: Any] in
                [
                    "service": service.service, "current": service.current, "wanted": service.wanted,
                    "changing": service.current != service.wanted, "bounds": "\(service.minimum)–\(service.maximum)",
                    "waiting": service.waiting, "oldest": service.waiting > 0 ? Format.age(service.oldestWaiting) : "-",
                    "reason": service.reason, "queues": service.queues.joined(separator: ", "),
                ]
            }
            context["autoscaler"] = ["by": snapshot.by, "ago": Format.age(Int(clamping: WallClock.unixMilliseconds() &- snapshot.at))]
        }
        return context
    }

    static func flows() -> [String: Any] {
        var order: [String] = []
        var stages: [String: [[String: Any]]] = [:]
        for stage in StageGraph.stages {
            if stages[stage.flow] == nil { order.append(stage.flow) }
            stages[stage.flow, default: []].append([
                "kind": stage.kind, "queue": stage.queue, "entry": stage.entry,
                "next": stage.next.isEmpty ? "-" : stage.next.joined(separator: ", "),
                "needs": stage.settings.isEmpty ? "-" : stage.settings.joined(separator: " "),
            ])
        }
        return ["flows": order.map { ["name": $0, "stages": stages[$0] ?? []] }]
    }

    func audit(_ log: AuditLog) async throws -> [String: Any] {
        let entries = try await log.latest(200).map { entry -> [String: Any] in
            [
                "at": Format.time(entry.at), "who": entry.who, "role": entry.role, "action": entry.action, "target": entry.target,
                "count": entry.count,
            ]
        }
        return ["entries": entries, "hasEntries": !entries.isEmpty]
    }
}

/// Times, ages and JSON as the pages print them.
enum Format {
    static func time(_ milliseconds: UInt64) -> String {
        guard milliseconds > 0, milliseconds < 253_402_300_799_999 else { return "-" }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: false))
    }

    static func age(_ milliseconds: Int) -> String {
        let seconds = max(milliseconds, 0) / 1000
        switch seconds {
        case ..<1: return "\(max(milliseconds, 0)) ms"
        case ..<120: return "\(seconds) s"
        case ..<7200: return "\(seconds / 60) min"
        case ..<172_800: return "\(seconds / 3600) h"
        default: return "\(seconds / 86400) d"
        }
    }

    static func prettyJSON(_ text: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return text }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A small inline SVG chart of per-minute counts (numbers only: safe to embed unescaped).
enum Sparkline {
    static func svg(_ values: [Int], colour: String, width: Int = 120, height: Int = 24) -> String {
        let top = max(values.max() ?? 0, 1)
        let step = values.count > 1 ? Double(width) / Double(values.count - 1) : 0
        let points = values.enumerated().map { index, value in
            let x = Double(index) * step
            let y = Double(height - 2) - Double(value) / Double(top) * Double(height - 4)
            return String(format: "%.1f,%.1f", x, y)
        }.joined(separator: " ")
        return
            "<svg width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"per minute, peak \(values.max() ?? 0)\">"
            + "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(points)\"/></svg>"
    }
}
