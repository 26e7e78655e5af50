import Foundation
import HTTPTypes
import Hummingbird
import Jobs
import Logging
import Queue
import Redis
import Scheduler
import Services

/// The console's pages and actions. Pages answer viewers and operators; actions (POST) answer
/// operators only, each checked against CSRF, written to the audit stream with what it did, and
/// answered with a redirect back to the page (POST-redirect-GET), the outcome in its notice.
struct ConsoleRoutes: Sendable {
    let pages: Pages
    let access: ConsoleAccess
    let renderer = PageRenderer()
    let audit: AuditLog
    let publicOrigin: String?
    /// The host names the console answers (`HostCheck`); nil: any.
    let hostNames: Set<String>?
    /// Seconds between a live page's refreshes.
    let refresh: Int
    /// The largest document the Knowledge page takes (`KNOWLEDGE_MAX_BYTES`).
    let knowledgeMaxBytes: Int
    let logger: Logger

    var broker: Broker { pages.broker }

    func router() -> Router<ConsoleContext> {
        let router = Router(context: ConsoleContext.self)
        router.add(middleware: HostCheck(names: hostNames))
        router.get("/assets/console.css") { _, _ in Self.asset(Assets.css, type: "text/css; charset=utf-8") }
        router.get("/assets/console.js") { _, _ in Self.asset(Assets.script, type: "text/javascript; charset=utf-8") }
        router.get("/healthz") { _, _ in "ok\n" }

        router.get("/login") { request, context in await loginPage(request, context) }
        router.post("/login") { request, context in try await tokenSignIn(request, context) }
        router.get("/auth/start") { request, _ in await openIDStart(request) }
        router.get("/auth/callback") { request, _ in await openIDCallback(request) }
        router.post("/logout") { request, context in try await signOut(request, context) }

        router.get("/") { request, context in
            await page(request, context, nav: "overview") { _ in
                ("overview", try await pages.overview(), "Queues", refresh)
            }
        }
        router.get("/queues/:queue") { request, context in
            await page(request, context, nav: "overview") { _ in
                let name = Self.parameter(context, "queue")
                guard let queue = try await pages.queue(name) else { throw ConsoleNotFound("no queue named \(name)") }
                return ("queue", queue, "Queue \(name)", refresh)
            }
        }
        router.get("/dead") { request, context in
            await page(request, context, nav: "dead") { _ in
                let filter = try Self.deadFilter(request.uri.queryParameters.map { (String($0.key), String($0.value)) })
                var context = try await pages.dead(filter.filter)
                context["filter"] = filter.echo
                context["filterFields"] = filter.echo.map { ["name": $0.key, "value": $0.value] }
                return ("dead", context, "Dead letters", refresh)
            }
        }
        router.get("/dead/:queue/:entry") { request, context in
            await page(request, context, nav: "dead") { _ in
                let queue = Self.parameter(context, "queue")
                let entry = Self.parameter(context, "entry")
                guard Self.isEntryID(entry), try await pages.queues().contains(queue),
                    let letter = try await pages.letter(queue: queue, entry: entry)
                else {
                    throw ConsoleNotFound("no dead letter \(entry) in \(queue): it may have been retried or dropped")
                }
                return ("letter", letter, "Dead letter", nil)
            }
        }
        router.get("/schedules") { request, context in
            await page(request, context, nav: "schedules") { _ in ("schedules", try await pages.schedules(), "Schedules", refresh) }
        }
        router.get("/trace") { request, context in
            await page(request, context, nav: "trace") { _ in
                let id = (request.uri.queryParameters.get("id") ?? "").trimmingCharacters(in: .whitespaces)
                return ("trace", try await pages.trace(id), "Trace", id.isEmpty ? nil : refresh)
            }
        }
        router.get("/consumers") { request, context in
            await page(request, context, nav: "consumers") { _ in ("consumers", try await pages.consumers(), "Consumers", refresh) }
        }
        router.get("/flows") { request, context in
            await page(request, context, nav: "flows") { _ in ("flows", Pages.flows(), "Stages", nil) }
        }
        addKnowledgeRoutes(to: router)
        addPrivacyRoutes(to: router)
        router.get("/audit") { request, context in
            await page(request, context, nav: "audit") { _ in ("audit", try await pages.audit(audit), "Audit", refresh) }
        }

        router.post("/queues/:queue/pause") { request, context in
            try await action(request, context) { visitor, _ in
                try await setPaused(Self.parameter(context, "queue"), true, visitor)
            }
        }
        router.post("/queues/:queue/resume") { request, context in
            try await action(request, context) { visitor, _ in
                try await setPaused(Self.parameter(context, "queue"), false, visitor)
            }
        }
        router.post("/dead/retry") { request, context in
            try await action(request, context) { visitor, form in try await dead(form, retry: true, visitor) }
        }
        router.post("/dead/drop") { request, context in
            try await action(request, context) { visitor, form in try await dead(form, retry: false, visitor) }
        }
        router.post("/schedules/:name/run") { request, context in
            try await action(request, context) { visitor, _ in
                try await runSchedule(Self.parameter(context, "name"), visitor)
            }
        }
        return router
    }

    // MARK: Pages

    /// A page for any signed-in visitor; the sign-in page for anyone else (401 to the script's refresh).
    func page(
        _ request: Request, _ requestContext: ConsoleContext, nav: String,
        _ build: (ConsoleAccess.Visitor) async throws -> (template: String, context: [String: Any], title: String, live: Int?)
    ) async -> Response {
        let fragment = request.headers[HTTPField.Name("X-Console-Fragment")!] == "1"
        let visitor: ConsoleAccess.Visitor
        switch await access.identify(request, client: requestContext.client) {
        case .visitor(let found): visitor = found
        case .anonymous:
            if fragment { return renderer.html("sign in again\n", status: .unauthorized) }
            return Response(status: .seeOther, headers: [.location: "/login?next=\(PercentEncoding.component(request.uri.description))"])
        case let other: return refusal(other)
        }
        do {
            let built = try await build(visitor)
            return renderer.render(
                built.template, built.context, title: built.title, nav: nav, visitor: visitor, live: built.live,
                flash: notice(request), fragment: fragment)
        } catch let missing as ConsoleNotFound {
            return renderer.render(
                "problem", ["title": "Not found", "message": missing.message], title: "Not found", nav: nav, visitor: visitor,
                fragment: fragment, status: .notFound)
        } catch let bad as ConsoleBadRequest {
            return renderer.render(
                "problem", ["title": "Bad request", "message": bad.message], title: "Bad request", nav: nav, visitor: visitor,
                fragment: fragment, status: .badRequest)
        } catch let forbidden as ConsoleForbidden {
            return renderer.render(
                "problem", ["title": "Not allowed", "message": forbidden.message], title: "Not allowed", nav: nav, visitor: visitor,
                fragment: fragment, status: .forbidden)
        } catch {
            logger.error("console page failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return renderer.render(
                "problem", ["title": "Redis did not answer", "message": "\(error)"], title: "Unavailable", nav: nav, visitor: visitor,
                fragment: fragment, status: .serviceUnavailable)
        }
    }

    /// The answer to a visitor who is not let in: a wrong token, too many of them, or a Redis that
    /// cannot say whether the session is still on.
    func refusal(_ outcome: ConsoleAccess.Outcome) -> Response {
        switch outcome {
        case .throttled(let seconds):
            var response = renderer.html("too many wrong tokens from this address: try again in \(seconds) s\n", status: .tooManyRequests)
            response.headers[.retryAfter] = String(seconds)
            return response
        case .unavailable(let error):
            return renderer.html("Redis did not answer: \(error)\n", status: .serviceUnavailable)
        case .visitor, .anonymous, .refused:
            return renderer.html("unauthorized\n", status: .unauthorized)
        }
    }

    /// The outcome of the action that led here — only one the console itself wrote (its mark
    /// checks): a link of someone else's cannot put words in the console's mouth.
    func notice(_ request: Request) -> (kind: String, text: String)? {
        let query = request.uri.queryParameters
        guard let text = query.get("notice"), !text.isEmpty, text.count <= 300, let mark = query.get("mark"),
            access.seal.isMarked(text, mark)
        else { return nil }
        return ("ok", text)
    }

    // MARK: Reading requests

    /// A url-encoded form body (at most 1 MiB), each name with its values in order.
    static func form(_ request: Request) async throws -> [String: [String]] {
        try await SubmittedForm.read(request).fields
    }

    /// The dead-letter filter of a query or a form, and its fields as given (to show and pass on).
    static func deadFilter(_ pairs: [(String, String)]) throws -> (filter: DeadLetters.Filter, echo: [String: String]) {
        var filter = DeadLetters.Filter()
        var echo: [String: String] = [:]
        for (name, raw) in pairs {
            let value = raw.trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty else { continue }
            switch name {
            case "queue": filter.queue = value; echo[name] = value
            case "kind": filter.kind = value; echo[name] = value
            case "error": filter.error = String(value.prefix(200)); echo[name] = filter.error
            case "since":
                guard let age = Age.milliseconds(value) else {
                    throw ConsoleBadRequest("since '\(value.prefix(20))' is not an age such as 90s, 30m, 2h or 7d")
                }
                let now = WallClock.unixMilliseconds()
                filter.since = now > age ? now - age : 0
                echo[name] = value
            default: continue
            }
        }
        return (filter, echo)
    }

    /// A path parameter, percent-decoded (a queue named `a/b` is linked as `a%2Fb`).
    static func parameter(_ context: ConsoleContext, _ name: String) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    static func isEntryID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 2
            && parts.allSatisfy { !$0.isEmpty && $0.count <= 20 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=300", .xContentTypeOptions: "nosniff"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

struct ConsoleNotFound: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

struct ConsoleBadRequest: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension Cookie {
    func with(path: String) -> Cookie {
        Cookie(name: name, value: value, maxAge: 0, path: path, secure: secure, httpOnly: httpOnly, sameSite: sameSite ?? .lax)
    }
}
