import Foundation
import Hummingbird
import Jobs
import Queue

/// The Privacy page: find what Switchboard holds about one person, see it, and forget it — the
/// same runs as `switchboard privacy find` and `forget`, done by a consumer of the privacy queue
/// (the console holds none of Qdrant's, the blob store's or Chatwoot's keys). Operators only, for
/// reading as for acting: what is found is a guest's personal data. A forget is offered only from
/// a finished look (the dry run), and asks to be confirmed.
extension ConsoleRoutes {
    func addPrivacyRoutes(to router: Router<ConsoleContext>) {
        router.get("/privacy") { request, context in
            await page(request, context, nav: "privacy") { visitor in
                try Self.operatorOnly(visitor)
                return ("privacy", try await pages.privacy(), "Privacy", nil)
            }
        }
        router.get("/privacy/runs/:id") { request, context in
            await page(request, context, nav: "privacy") { visitor in
                try Self.operatorOnly(visitor)
                let id = Self.parameter(context, "id")
                guard Self.isTrialID(id) else { throw ConsoleNotFound("no privacy run \(id)") }
                let run = try await pages.privacyRun(id)
                return ("privacyRun", run, "Privacy", run["waiting"] == nil ? nil : 2)
            }
        }
        router.post("/privacy/find") { request, context in
            try await action(request, context) { visitor, form in try await askPrivacy(form, visitor, forget: false) }
        }
        router.post("/privacy/forget") { request, context in
            try await action(request, context) { visitor, form in
                guard form["confirm"]?.first == "yes" else {
                    throw ConsoleBadRequest("tick the confirmation: everything listed is removed for good")
                }
                return try await askPrivacy(form, visitor, forget: true)
            }
        }
    }

    static func operatorOnly(_ visitor: ConsoleAccess.Visitor) throws {
        guard visitor.role == .operator else { throw ConsoleForbidden("what Switchboard holds about a person is shown to operators only") }
    }

    /// A look (`forget` false) from the form's identifier, or the forget of a look's person: the
    /// identifier is kept server-side with the look (`{p}:privacy:look:<id>`, an hour), so the page
    /// never carries it back.
    func askPrivacy(_ form: SubmittedForm, _ visitor: ConsoleAccess.Visitor, forget: Bool) async throws -> (path: String, notice: String) {
        var request: PrivacyRequest
        if forget {
            guard let run = Self.given(form, "run"), Self.isTrialID(run),
                let text = try await broker.pool.send("GET", broker.keys.privacyLook(run)).string,
                let look = try? JSONDecoder().decode(PrivacyRequest.self, from: Data(text.utf8))
            else { throw ConsoleNotFound("that look is over an hour old or unknown: look for the person again") }
            request = PrivacyRequest(
                phone: look.phone, email: look.email, contact: look.contact, forget: true, redact: form["redact"]?.first == "on",
                requestedBy: "console:\(visitor.name)")
        } else {
            var contact: Int?
            if let text = Self.given(form, "contact") {
                guard let number = Int(text) else { throw ConsoleBadRequest("a Chatwoot contact id is a positive number") }
                contact = number
            }
            request = PrivacyRequest(
                phone: Self.given(form, "phone"), email: Self.given(form, "email"), contact: contact, requestedBy: "console:\(visitor.name)"
            )
        }
        if let problem = request.problem { throw ConsoleBadRequest(problem) }
        let id = try await PrivacyJobs.ask(request, broker: broker)
        if !forget {
            let text = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
            try await broker.pool.send("SET", broker.keys.privacyLook(id), text, "EX", "3600")
        } else if let run = Self.given(form, "run") {
            _ = try await broker.pool.send("DEL", broker.keys.privacyLook(run))
        }
        return ("/privacy/runs/\(id)", forget ? "forgetting \(request.masked)" : "looking for \(request.masked)")
    }
}

/// The Redis keys of this feature, under the deployment's hash tag (docs/design.md lists them all).
extension Keys {
    /// A look from the console, kept so its page can offer to forget the person (an hour, a string).
    public func privacyLook(_ id: String) -> String { named("privacy:look:\(id)") }
}
