import Foundation
import HTTPTypes
import Hummingbird
import Queue
import Redis
import Scheduler
import Services

/// The operators' actions: each identified, checked (role, CSRF, origin), done, audited, and
/// answered with a redirect back to its page carrying the outcome.
extension ConsoleRoutes {
    /// An operator's action: identified, checked (role, CSRF, origin), run; answered with a
    /// redirect (303) to where it leads, with the outcome as a notice.
    ///
    /// `multipartLimit`: the largest multipart body the action takes (an upload); nil, none. The
    /// body is read only once an operator is known: no one else can make the console read 50 MB.
    func action(
        _ request: Request, _ context: ConsoleContext, multipartLimit: Int? = nil,
        _ run: (ConsoleAccess.Visitor, SubmittedForm) async throws -> (path: String, notice: String)
    ) async throws -> Response {
        let visitor: ConsoleAccess.Visitor
        switch await access.identify(request, client: context.client) {
        case .visitor(let found): visitor = found
        case .anonymous: return renderer.html("sign in first: nothing was changed\n", status: .unauthorized)
        case let other: return refusal(other)
        }
        let form: SubmittedForm
        if visitor.role == .operator {
            do { form = try await SubmittedForm.read(request, multipartLimit: multipartLimit) } catch let bad as ConsoleBadRequest {
                return renderer.render(
                    "problem", ["title": "Bad request", "message": bad.message], title: "Bad request", nav: nil, visitor: visitor,
                    status: .badRequest)
            }
        } else {
            form = SubmittedForm()
        }
        if let (status, message) = access.refusal(visitor, form: form.fields, request: request, publicOrigin: publicOrigin) {
            logger.warning(
                "console action refused", metadata: ["who": "\(visitor.name)", "path": "\(request.uri.path)", "reason": "\(message)"])
            return renderer.render(
                "problem", ["title": "Not allowed", "message": message], title: "Not allowed", nav: nil, visitor: visitor, status: status)
        }
        do {
            let (path, notice) = try await run(visitor, form)
            let separator = path.contains("?") ? "&" : "?"
            return Response(
                status: .seeOther,
                headers: [
                    .location: path + separator + "notice=" + PercentEncoding.component(notice)
                        + "&mark=" + access.seal.mark(notice)
                ])
        } catch let missing as ConsoleNotFound {
            return renderer.render(
                "problem", ["title": "Not found", "message": missing.message], title: "Not found", nav: nil, visitor: visitor,
                status: .notFound)
        } catch let bad as ConsoleBadRequest {
            return renderer.render(
                "problem", ["title": "Bad request", "message": bad.message], title: "Bad request", nav: nil, visitor: visitor,
                status: .badRequest)
        }
    }

    func setPaused(_ queue: String, _ paused: Bool, _ visitor: ConsoleAccess.Visitor) async throws -> (path: String, notice: String) {
        guard try await pages.queues().contains(queue) else { throw ConsoleNotFound("no queue named \(queue)") }
        let changed = try await broker.setPaused(queue, paused)
        try await audit.record(
            who: visitor.name, role: visitor.role, action: paused ? "pause" : "resume", target: queue, count: changed ? 1 : 0)
        let notice = changed ? "\(queue) \(paused ? "paused" : "resumed")" : "\(queue) was already \(paused ? "paused" : "active")"
        return ("/queues/\(queue)", notice)
    }

    func dead(_ form: SubmittedForm, retry: Bool, _ visitor: ConsoleAccess.Visitor) async throws -> (path: String, notice: String) {
        let letters = DeadLetters(broker: broker)
        let known = Set(try await pages.queues())
        let verb = retry ? "retried" : "dropped"
        let filter = try Self.deadFilter(form.fields.flatMap { key, values in values.map { (key, $0) } })
        var items: [DeadLetters.Item] = []
        let target: String
        switch form["scope"]?.first {
        case "all":
            try await letters.forEachPage(filter.filter) { items += $0 }
            target =
                filter.echo.isEmpty
                ? "every dead letter" : filter.echo.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        case "selected":
            let selected = form["selected"] ?? []
            guard !selected.isEmpty else { throw ConsoleBadRequest("tick at least one letter") }
            guard selected.count <= 10_000 else { throw ConsoleBadRequest("at most 10,000 letters at once") }
            for value in selected {
                let parts = value.split(separator: "/", maxSplits: 1).map(String.init)
                guard parts.count == 2, known.contains(parts[0]), Self.isEntryID(parts[1]) else {
                    throw ConsoleBadRequest("'\(value.prefix(80))' names no dead letter")
                }
                if let entry = try await broker.deadEntry(parts[0], entryID: parts[1]) {
                    items.append(DeadLetters.Item(queue: parts[0], entryID: entry.id, fields: entry.fields))
                }
            }
            target = items.map(\.jobID).prefix(20).joined(separator: " ") + (items.count > 20 ? " …" : "")
        default:
            throw ConsoleBadRequest("say which letters: scope=selected or scope=all")
        }
        let done: Int
        var refused = 0
        if retry {
            let outcome = try await letters.retry(items)
            done = outcome.retried
            refused = outcome.refused.count
        } else {
            done = try await letters.drop(items)
        }
        try await audit.record(
            who: visitor.name, role: visitor.role, action: retry ? "dead.retry" : "dead.drop", target: target, count: done)
        let back =
            "/dead"
            + (filter.echo.isEmpty
                ? ""
                : "?"
                    + filter.echo.sorted { $0.key < $1.key }.map { "\($0.key)=\(PercentEncoding.component($0.value))" }.joined(
                        separator: "&"))
        var notice = "\(verb) \(done) of \(items.count)"
        if refused > 0 { notice += "; \(refused) have no valid envelope (drop them)" }
        return (back, notice)
    }

    func runSchedule(_ name: String, _ visitor: ConsoleAccess.Visitor) async throws -> (path: String, notice: String) {
        guard let entry = pages.schedule.first(where: { $0.name == name }) else { throw ConsoleNotFound("no schedule entry named \(name)") }
        let notice: String
        switch try await ScheduleBoard(broker: broker).runNow(entry) {
        case .added(let id):
            try await audit.record(who: visitor.name, role: visitor.role, action: "schedule.run", target: name, count: 1)
            notice = "enqueued \(entry.job.kind) job \(id) on \(entry.job.queue)"
        case .duplicate(let id):
            notice = "already enqueued this second: job \(id)"
        case .full(let length):
            notice = "not enqueued: \(entry.job.queue) is full (\(length) entries)"
        }
        return ("/schedules", notice)
    }
}
