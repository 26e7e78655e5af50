import Foundation
import Hummingbird
import Jobs
import Queue

/// The Knowledge page and its actions: add a document by upload, index a source again, remove
/// one, approve or turn down what agents answered, and try a question. Each action is an
/// operator's, CSRF-checked and audited like every other; what needs Qdrant, the embeddings or
/// the model is done by a consumer of the knowledge queue (the console holds none of their keys).
extension ConsoleRoutes {
    func addKnowledgeRoutes(to router: Router<ConsoleContext>) {
        router.get("/knowledge") { request, context in
            await page(request, context, nav: "knowledge") { _ in ("knowledge", try await pages.knowledge(), "Knowledge", refresh) }
        }
        router.get("/knowledge/trials/:id") { request, context in
            await page(request, context, nav: "knowledge") { visitor in
                // A trial shows restricted knowledge and a guest's booking: an operator's to read.
                guard visitor.role == .operator else { throw ConsoleForbidden("a tried question is shown to operators only") }
                let id = Self.parameter(context, "id")
                guard Self.isTrialID(id) else { throw ConsoleNotFound("no tried question \(id)") }
                let trial = try await pages.trial(id)
                return ("trial", trial, "Tried question", trial["waiting"] == nil ? nil : 2)
            }
        }
        router.post("/knowledge/add") { request, context in
            try await action(request, context, multipartLimit: knowledgeMaxBytes + (64 << 10)) { visitor, form in
                try await addDocument(form, visitor)
            }
        }
        router.post("/knowledge/reindex") { request, context in
            try await action(request, context) { visitor, form in try await reindex(try Self.sourceID(form), visitor) }
        }
        router.post("/knowledge/remove") { request, context in
            try await action(request, context) { visitor, form in try await removeSource(try Self.sourceID(form), visitor) }
        }
        router.post("/knowledge/approve") { request, context in
            try await action(request, context) { visitor, form in try await approve(form, visitor) }
        }
        router.post("/knowledge/reject") { request, context in
            try await action(request, context) { visitor, form in try await reject(form, visitor) }
        }
        router.post("/knowledge/try") { request, context in
            try await action(request, context) { visitor, form in try await tryQuestion(form, visitor) }
        }
    }

    func addDocument(_ form: SubmittedForm, _ visitor: ConsoleAccess.Visitor) async throws -> (path: String, notice: String) {
        guard let file = form.files["document"] else { throw ConsoleBadRequest("choose a document to upload") }
        guard file.bytes.count <= knowledgeMaxBytes else {
            throw ConsoleBadRequest("\(file.filename) is \(file.bytes.count) bytes, over KNOWLEDGE_MAX_BYTES (\(knowledgeMaxBytes))")
        }
        // Some browsers send the whole path of the visitor's machine: the name is its last part.
        let name = String(file.filename.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "")
        let id = Self.given(form, "id") ?? name
        let listing = Self.given(form, "listing")
        guard KnowledgeIntake.acceptable(id) else { throw ConsoleBadRequest("the id must be 1 to 200 visible characters") }
        if let listing, !KnowledgeIntake.acceptable(listing) {
            throw ConsoleBadRequest("the listing must be 1 to 200 visible characters")
        }
        let restricted = form["restricted"]?.first == "on"
        let text: String
        let format: DocumentText.Format
        do {
            (text, format) = try await KnowledgeIntake.text(file.bytes, name: name, contentType: file.contentType)
        } catch let error as DocumentError {
            throw ConsoleBadRequest("\(error.description). Nothing was added.")
        }
        let outcome = try await KnowledgeIntake.add(
            id: id, origin: "upload \(name)", text: text, format: format, listing: listing, restricted: restricted,
            pool: broker.pool, keys: broker.keys)
        let changed: Bool
        if case .indexing = outcome { changed = true } else { changed = false }
        try await audit.record(who: visitor.name, role: visitor.role, action: "knowledge.add", target: id, count: changed ? 1 : 0)
        let notice =
            changed
            ? "indexing \(id): a consumer of the knowledge queue embeds it; guests keep the previous version until it is whole"
            : "unchanged: \(id) is indexed as it is (\(outcome.source.livePieces ?? 0) pieces)"
        return ("/knowledge", notice)
    }

    func reindex(_ id: String, _ visitor: ConsoleAccess.Visitor) async throws -> (path: String, notice: String) {
        let outcome: KnowledgeIntake.Outcome?
        do {
            outcome = try await KnowledgeIntake.reindex(id, limit: knowledgeMaxBytes, pool: broker.pool, keys: broker.keys)
        } catch let error as DocumentError {
            throw ConsoleBadRequest(error.description)
        }
        guard outcome != nil else { throw ConsoleNotFound("no knowledge source \(id)") }
        try await audit.record(who: visitor.name, role: visitor.role, action: "knowledge.reindex", target: id, count: 1)
        return ("/knowledge", "indexing \(id) again")
    }

    func removeSource(_ id: String, _ visitor: ConsoleAccess.Visitor) async throws -> (path: String, notice: String) {
        guard try await KnowledgeRemoval.remove(id, pool: broker.pool, keys: broker.keys) != nil else {
            throw ConsoleNotFound("no knowledge source \(id): it may have been removed already")
        }
        try await audit.record(who: visitor.name, role: visitor.role, action: "knowledge.remove", target: id, count: 1)
        return ("/knowledge", "removed \(id): its pieces are deleted by a consumer of the knowledge queue")
    }

    func approve(_ form: SubmittedForm, _ visitor: ConsoleAccess.Visitor) async throws -> (path: String, notice: String) {
        let id = try Self.candidateID(form)
        let question = Self.given(form, "question")
        let answer = Self.given(form, "answer")
        if let question, question.count > 500 { throw ConsoleBadRequest("a question of at most 500 characters") }
        if let answer, answer.count > 2_000 { throw ConsoleBadRequest("an answer of at most 2,000 characters") }
        guard
            let (source, request) = try await AnswerCandidates.approve(
                id, question: question, answer: answer, pool: broker.pool, keys: broker.keys)
        else {
            let approved = try await KnowledgeSources(pool: broker.pool, keys: broker.keys).source("faq:\(id)") != nil
            throw ConsoleNotFound(approved ? "\(id) is already approved: knowledge source faq:\(id)" : "no candidate \(id) is waiting")
        }
        _ = try await broker.add(request.envelope(), to: request.queue)
        try await audit.record(who: visitor.name, role: visitor.role, action: "knowledge.approve", target: source.id, count: 1)
        return ("/knowledge", "approved: \(source.id) is being indexed as the account's knowledge")
    }

    func reject(_ form: SubmittedForm, _ visitor: ConsoleAccess.Visitor) async throws -> (path: String, notice: String) {
        let id = try Self.candidateID(form)
        guard try await KnowledgeCandidates(pool: broker.pool, keys: broker.keys).reject(id) else {
            throw ConsoleNotFound("no candidate \(id) is waiting")
        }
        try await audit.record(who: visitor.name, role: visitor.role, action: "knowledge.reject", target: id, count: 1)
        return ("/knowledge", "turned down: \(id) is not proposed again from its conversation")
    }

    func tryQuestion(_ form: SubmittedForm, _ visitor: ConsoleAccess.Visitor) async throws -> (path: String, notice: String) {
        guard let audience = ChatMessage.Audience(rawValue: Self.given(form, "audience") ?? "guest") else {
            throw ConsoleBadRequest("ask as a guest, the team or an agent")
        }
        var conversation: Int?
        if let text = Self.given(form, "conversation") {
            guard let number = Int(text) else { throw ConsoleBadRequest("the conversation is a positive id") }
            conversation = number
        }
        let question = TrialQuestion(
            question: Self.given(form, "question") ?? "", audience: audience, conversation: conversation,
            contact: Self.given(form, "contact"))
        if let problem = question.problem { throw ConsoleBadRequest(problem) }
        try await broker.add(try TrialQuestions.request(question).envelope(), to: TrialQuestions.queue)
        let asWhom = question.contact.map { " as \($0)" } ?? question.conversation.map { " as the guest of conversation \($0)" } ?? ""
        try await audit.record(
            who: visitor.name, role: visitor.role, action: "knowledge.try", target: "\(audience.rawValue)\(asWhom)", count: 1)
        return ("/knowledge/trials/\(question.id)", "asked as a \(audience.rawValue)\(asWhom)")
    }

    /// A field's value, trimmed; nil when it is missing or blank.
    static func given(_ form: SubmittedForm, _ name: String) -> String? {
        guard let value = form[name]?.first?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    static func sourceID(_ form: SubmittedForm) throws -> String {
        guard let id = given(form, "id"), KnowledgeIntake.acceptable(id) else { throw ConsoleBadRequest("say which source: id") }
        return id
    }

    static func candidateID(_ form: SubmittedForm) throws -> String {
        guard let id = given(form, "id"), id.count <= 100, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else { throw ConsoleBadRequest("say which candidate: id") }
        return id
    }

    static func isTrialID(_ text: String) -> Bool {
        (1...64).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isHexDigit || $0 == "-") }
    }
}

struct ConsoleForbidden: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
