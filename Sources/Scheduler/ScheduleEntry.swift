import Foundation
import Queue

/// One periodic job: its name (unique; part of every tick's dedupe key), when it is due, and the
/// job it enqueues each time.
public struct ScheduleEntry: Sendable, Equatable {
    public var name: String
    public var schedule: CronSchedule
    public var job: JobRequest

    public init(name: String, schedule: CronSchedule, job: JobRequest) {
        self.name = name
        self.schedule = schedule
        self.job = job
    }

    /// Reads a schedule file: a JSON array of `{"name", "cron", "kind", "payload"?, "queue"?, "tz"?}`
    /// (`tz`: an IANA zone whose wall clock the cron reads, `Europe/Paris`; default UTC).
    /// Every kind must be in `registry` (a kind no consumer runs would only fill the dead letters);
    /// the queue, when given, must be the kind's own. Errors name the entry and what is wrong with it.
    public static func load(_ data: Data, registry: JobRegistry) throws -> [ScheduleEntry] {
        guard let list = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
            throw CronError("the schedule is not a JSON array of entries")
        }
        var entries: [ScheduleEntry] = []
        for (index, item) in list.enumerated() {
            guard let object = item as? [String: Any] else { throw CronError("schedule entry \(index + 1) is not an object") }
            guard let name = object["name"] as? String, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
            else {
                throw CronError("schedule entry \(index + 1): 'name' is missing or has characters other than letters, digits, - _ .")
            }
            guard !entries.contains(where: { $0.name == name }) else { throw CronError("schedule entry '\(name)' appears twice") }
            guard let cron = object["cron"] as? String else { throw CronError("schedule entry '\(name)': 'cron' is missing") }
            var zone = TimeZone(identifier: "UTC")!
            if let identifier = object["tz"] {
                guard let text = identifier as? String, let found = TimeZone(identifier: text),
                    TimeZone.knownTimeZoneIdentifiers.contains(text) || text == "UTC"
                else {
                    throw CronError("schedule entry '\(name)': 'tz' \(identifier) is not an IANA time zone such as Europe/Paris or UTC")
                }
                zone = found
            }
            let schedule: CronSchedule
            do { schedule = try CronSchedule(cron, timeZone: zone) } catch { throw CronError("schedule entry '\(name)': \(error)") }
            guard let kind = object["kind"] as? String else { throw CronError("schedule entry '\(name)': 'kind' is missing") }
            guard let definition = registry[kind] else {
                throw CronError(
                    "schedule entry '\(name)': kind '\(kind)' is not in the catalogue (known: \(registry.definitions.keys.sorted().joined(separator: ", ")))"
                )
            }
            let payload: String
            if let value = object["payload"] {
                guard JSONSerialization.isValidJSONObject(value),
                    let text = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
                else {
                    throw CronError("schedule entry '\(name)': 'payload' must be a JSON object or array")
                }
                payload = String(decoding: text, as: UTF8.self)
            } else {
                payload = "{}"
            }
            if let given = object["queue"], !(given is String) {
                throw CronError("schedule entry '\(name)': 'queue' must be a queue's name")
            }
            let queue = object["queue"] as? String ?? definition.queue
            // A kind runs on its own queue only: on another, no consumer would ever take the job.
            guard queue == definition.queue else {
                throw CronError(
                    "schedule entry '\(name)': kind '\(kind)' runs on queue '\(definition.queue)', not '\(String(queue.prefix(80)))'")
            }
            entries.append(ScheduleEntry(name: name, schedule: schedule, job: definition.request(payload: payload, queue: queue)))
        }
        return entries
    }
}
