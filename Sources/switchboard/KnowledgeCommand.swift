import ArgumentParser
import Foundation
import Jobs
import Queue
import Redis
import Services

struct KnowledgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knowledge",
        abstract: "Put the property's knowledge in, see it and take it out.",
        discussion: """
            Documents (Markdown, plain text, HTML, PDF through pdftotext) are read here and indexed by a \
            consumer of the knowledge queue (knowledge.index). Guests read the account's knowledge and \
            their own listing's; restricted knowledge only during a confirmed stay at that listing.
            """,
        subcommands: [
            KnowledgeAddCommand.self, KnowledgeListCommand.self, KnowledgeShowCommand.self, KnowledgeReindexCommand.self,
            KnowledgeRemoveCommand.self,
            KnowledgeCandidatesCommand.self, KnowledgeApproveCommand.self, KnowledgeRejectCommand.self,
        ]
    )
}

extension KnowledgeCommand {
    /// `KNOWLEDGE_MAX_BYTES`, as the commands that read documents take it.
    static func maxBytes() throws -> Int {
        do {
            return try KnowledgeIntake.maxBytes(try Environment.value("KNOWLEDGE_MAX_BYTES", ProcessInfo.processInfo.environment))
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}

struct KnowledgeAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add or refresh documents (paths or http(s) URLs); an unchanged one is left as it is.",
        discussion: """
            A Markdown heading ending in [restricted] makes its section restricted (door codes, Wi-Fi \
            passwords). Waits until each is indexed, showing progress, unless --no-wait. Example: \
            switchboard knowledge add house-manual.md --listing 64f1c2 --restricted
            """
    )

    @OptionGroup var redis: RedisOptions

    @Argument(help: "Paths or http(s) URLs of the documents.")
    var sources: [String]

    @Option(help: "The listing (Guesty id) the documents are about; without it they are the whole account's.")
    var listing: String?

    @Option(help: "The source's id (default: its path or URL); only with one document.")
    var id: String?

    @Flag(help: "Every piece restricted: shown to a guest only during a confirmed stay at the listing.")
    var restricted = false

    @Flag(name: .customLong("no-wait"), help: "Return once the indexing is asked for.")
    var noWait = false

    @Option(help: "How long to wait for the indexing, in seconds.")
    var timeout: Double = 1800

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("name at least one document") }
        guard id == nil || sources.count == 1 else { throw ValidationError("--id names one document; give one at a time") }
        if let id { guard KnowledgeIntake.acceptable(id) else { throw ValidationError("--id must be 1 to 200 visible characters") } }
        if let listing {
            guard KnowledgeIntake.acceptable(listing) else { throw ValidationError("--listing must be 1 to 200 visible characters") }
        }
        guard timeout.isFinite, timeout > 0, timeout <= 86_400 else { throw ValidationError("--timeout must be from 0 to 86400 seconds") }
    }

    static func pieces(_ count: Int) -> String { count == 1 ? "1 piece" : "\(count) pieces" }

    func run() async throws {
        let limit = try KnowledgeCommand.maxBytes()
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let keys = Keys(prefix: redis.keyPrefix)
        let store = KnowledgeSources(pool: pool, keys: keys)
        var failed = false
        for origin in sources {
            let id = self.id ?? origin
            let text: String
            let format: DocumentText.Format
            do {
                (text, format) = try await KnowledgeIntake.read(origin, limit: limit)
            } catch let error as DocumentError {
                Terminal.error(error.description)
                failed = true
                continue
            }
            let outcome = try await RedisFailure.exitOnFailure {
                try await KnowledgeIntake.add(
                    id: id, origin: origin, text: text, format: format, listing: listing, restricted: restricted, pool: pool, keys: keys)
            }
            guard case .indexing(let asked) = outcome else {
                print("unchanged: \(Terminal.visible(id)) (\(Self.pieces(outcome.source.livePieces ?? 0)))")
                continue
            }
            if noWait {
                print("indexing: \(Terminal.visible(id)) (version \(asked.version))")
                continue
            }
            if !(try await wait(for: asked, store: store)) { failed = true }
        }
        if failed { throw ExitCode(1) }
    }

    /// Waits for `asked`'s version to be indexed, showing its progress; false when it failed.
    func wait(for asked: KnowledgeSource, store: KnowledgeSources) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(timeout)
        var shown = ""
        while ContinuousClock.now < deadline {
            let current = try await RedisFailure.exitOnFailure { try await store.source(asked.id) }
            guard let current, current.version == asked.version else {
                Terminal.error("\(asked.id) was changed or removed while it was indexed")
                return false
            }
            switch current.state {
            case .ready:
                print("indexed: \(Terminal.visible(asked.id)) (\(Self.pieces(current.livePieces ?? 0)))")
                return true
            case .failed:
                Terminal.error("\(asked.id) was not indexed: \(current.error ?? "unknown error") (the previous version, if any, stays)")
                return false
            case .indexing:
                let progress =
                    current.pieces.map { "\(current.written ?? 0)/\($0) pieces" } ?? "waiting for a consumer of the knowledge queue"
                if progress != shown {
                    FileHandle.standardError.write(Data("indexing \(Terminal.visible(asked.id)): \(progress)\n".utf8))
                    shown = progress
                }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        Terminal.error("\(asked.id) is still being indexed after \(Int(timeout)) s; `switchboard knowledge list` shows how far it is")
        return false
    }
}

struct KnowledgeListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The knowledge sources, their state and size.")

    @OptionGroup var redis: RedisOptions

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let sources = try await RedisFailure.exitOnFailure {
            try await KnowledgeSources(pool: pool, keys: Keys(prefix: redis.keyPrefix)).all()
        }
        if json {
            for source in sources { try Terminal.printJSONLine(source) }
            return
        }
        guard !sources.isEmpty else {
            print("no knowledge sources yet: switchboard knowledge add PATH|URL")
            return
        }
        let rows =
            [["ID", "STATE", "PIECES", "LISTING", "RESTRICTED", "UPDATED", "ORIGIN"]]
            + sources.map { source in
                let state =
                    source.state == .indexing
                    ? "indexing \(source.written ?? 0)/\(source.pieces.map(String.init) ?? "?")" : source.state.rawValue
                return [
                    source.id, state, source.livePieces.map(String.init) ?? "-", source.listing ?? "(account)",
                    source.restricted ? "yes" : "per section", source.updated, source.origin,
                ]
            }
        print(Table.render(rows) { _, column, cell in column == 1 && cell == "failed" ? .red : nil }, terminator: "")
        for source in sources where source.state == .failed {
            print("\(Terminal.visible(source.id)): \(Terminal.visible(source.error ?? "unknown error"))")
        }
    }
}

struct KnowledgeShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "A source and the pieces guests can be answered from.")

    @OptionGroup var redis: RedisOptions

    @Argument(help: "The source's id, as `knowledge list` shows it.")
    var id: String

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        guard
            let source = try await RedisFailure.exitOnFailure({
                try await KnowledgeSources(pool: pool, keys: Keys(prefix: redis.keyPrefix)).source(id)
            })
        else {
            Terminal.error("no knowledge source \(id)")
            throw ExitCode(1)
        }
        print("\(Terminal.visible(source.id)): \(source.format.rawValue) from \(Terminal.visible(source.origin)), \(source.state.rawValue)")
        print(
            "listing: \(Terminal.visible(source.listing ?? "(the whole account)")); restricted: \(source.restricted ? "all of it" : "its [restricted] sections")"
        )
        guard let live = source.liveVersion else {
            print("no version is indexed yet")
            return
        }
        let qdrant = try KnowledgeQdrant.client(ProcessInfo.processInfo.environment)
        let points = try await KnowledgeQdrant.reporting {
            try await qdrant.points(
                QdrantFilter(must: [.equals("source_id", .string(source.pointSource)), .equals("version", .string(live))]))
        }
        let pieces = points.compactMap(\.payload).sorted { ($0["chunk"]?.integer ?? 0) < ($1["chunk"]?.integer ?? 0) }
        print("\(pieces.count) pieces:")
        for piece in pieces {
            let mark = piece["restricted"] == .bool(true) ? " [restricted]" : ""
            print("#\(piece["chunk"]?.integer ?? 0) \(Terminal.visible(piece["title"]?.string ?? ""))\(mark)")
            print("  " + Terminal.visible(String((piece["text"]?.string ?? "").prefix(300))).replacingOccurrences(of: "\n", with: " "))
        }
    }
}

struct KnowledgeReindexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Index a source again as a new version: a URL is read again, any other's pieces embedded afresh.",
        discussion: "After a change of embedding model, say; guests keep the version they read until the new one is whole."
    )

    @OptionGroup var redis: RedisOptions

    @Argument(help: "The source's id, as `knowledge list` shows it.")
    var id: String

    func run() async throws {
        let limit = try KnowledgeCommand.maxBytes()
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        do {
            let outcome = try await RedisFailure.exitOnFailure {
                try await KnowledgeIntake.reindex(id, limit: limit, pool: pool, keys: Keys(prefix: redis.keyPrefix))
            }
            guard let outcome else {
                Terminal.error("no knowledge source \(id)")
                throw ExitCode(1)
            }
            print("indexing: \(Terminal.visible(id)) (version \(outcome.source.version))")
        } catch let error as DocumentError {
            Terminal.error(error.description)
            throw ExitCode(1)
        }
    }
}

struct KnowledgeRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Take a source out of the knowledge, every version of it.")

    @OptionGroup var redis: RedisOptions

    @Argument(help: "The source's id, as `knowledge list` shows it.")
    var id: String

    func run() async throws {
        let qdrant = try KnowledgeQdrant.client(ProcessInfo.processInfo.environment)
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        guard
            let removed = try await RedisFailure.exitOnFailure({
                try await KnowledgeSources(pool: pool, keys: Keys(prefix: redis.keyPrefix)).remove(id)
            })
        else {
            Terminal.error("no knowledge source \(id)")
            throw ExitCode(1)
        }
        // The record first: an indexing still running finds it gone and drops what it wrote.
        try await KnowledgeQdrant.reporting { try await KnowledgeRemoval.deletePieces(qdrant, of: removed.id, keeping: nil) }
        print("removed: \(Terminal.visible(id))")
    }
}

/// The Qdrant the knowledge commands read and remove from: the consumers' settings.
enum KnowledgeQdrant {
    static func client(_ environment: [String: String]) throws -> QdrantClient {
        guard let url = try Environment.value("QDRANT_URL", environment),
            let collection = try Environment.value("QDRANT_COLLECTION", environment)
        else {
            Terminal.error("this command reads Qdrant: set QDRANT_URL and QDRANT_COLLECTION (and QDRANT_API_KEY) as for the consumers")
            throw ExitCode(2)
        }
        return QdrantClient(
            baseURL: url, apiKey: try Environment.value("QDRANT_API_KEY", environment), collection: collection,
            http: HTTPClient(connections: 1))
    }

    static func reporting<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let failure as HTTPFailure {
            Terminal.error("Qdrant: \(failure)")
            throw ExitCode(1)
        }
    }
}

struct KnowledgeCandidatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "candidates", abstract: "What agents answered in resolved conversations, waiting to be approved as knowledge.")

    @OptionGroup var redis: RedisOptions

    @Flag(help: "One JSON object per line instead of text.")
    var json = false

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let candidates = try await RedisFailure.exitOnFailure {
            try await KnowledgeCandidates(pool: pool, keys: Keys(prefix: redis.keyPrefix)).all()
        }
        if json {
            for candidate in candidates { try Terminal.printJSONLine(candidate) }
            return
        }
        guard !candidates.isEmpty else {
            print("no candidates waiting")
            return
        }
        for candidate in candidates {
            print(Terminal.paint("\(candidate.id)", .bold) + "  from conversation \(candidate.conversation), \(candidate.proposed)")
            print("  Q: " + Terminal.visible(candidate.question))
            print("  A: " + Terminal.visible(candidate.answer))
        }
        print("switchboard knowledge approve ID [--edit] | reject ID")
    }
}

struct KnowledgeApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Make a candidate shared knowledge (source faq:ID), as it is or edited.")

    @OptionGroup var redis: RedisOptions

    @Argument(help: "The candidate's id, as `knowledge candidates` shows it.")
    var id: String

    @Flag(help: "Edit the question and answer in $VISUAL or $EDITOR first.")
    var edit = false

    @Option(help: "The question as it should stand (instead of --edit).")
    var question: String?

    @Option(help: "The answer as it should stand (instead of --edit).")
    var answer: String?

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        let keys = Keys(prefix: redis.keyPrefix)
        var question = self.question
        var answer = self.answer
        if edit {
            guard
                let candidate = try await RedisFailure.exitOnFailure({ try await KnowledgeCandidates(pool: pool, keys: keys).candidate(id) }
                )
            else { throw Self.missing(id) }
            (question, answer) = try Self.edited(candidate)
        }
        let approved = try await RedisFailure.exitOnFailure {
            try await AnswerCandidates.approve(id, question: question, answer: answer, pool: pool, keys: keys)
        }
        guard let (source, request) = approved else {
            let known = try await RedisFailure.exitOnFailure { try await KnowledgeSources(pool: pool, keys: keys).source("faq:\(id)") }
            if known != nil {
                Terminal.error("\(id) is already approved: knowledge source faq:\(id)")
                throw ExitCode(1)
            }
            throw Self.missing(id)
        }
        try await RedisFailure.exitOnFailure { _ = try await Broker(pool: pool, keys: keys).add(request.envelope(), to: request.queue) }
        print("approved: \(Terminal.visible(id)) → knowledge source \(Terminal.visible(source.id)) (indexing)")
    }

    static func missing(_ id: String) -> ExitCode {
        Terminal.error("no candidate \(id) is waiting (see `switchboard knowledge candidates`)")
        return ExitCode(1)
    }

    /// The question and answer as a person leaves them in their editor: the first line the
    /// question, the rest the answer.
    static func edited(_ candidate: KnowledgeCandidate) throws -> (String, String) {
        let environment = ProcessInfo.processInfo.environment
        guard let editor = environment["VISUAL"] ?? environment["EDITOR"], !editor.isEmpty else {
            Terminal.error("--edit needs VISUAL or EDITOR; or give --question and --answer")
            throw ExitCode(2)
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-candidate-\(candidate.id).txt")
        try "\(candidate.question)\n\(candidate.answer)\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let child = try Subprocess("/bin/sh", ["-c", "\(editor) \"$1\"", "editor", file.path], environment: environment)
        guard child.waitBlocking(timeout: .seconds(86_400)) == 0 else {
            Terminal.error("the editor did not finish cleanly; nothing approved")
            throw ExitCode(1)
        }
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let question = lines.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        let answer = lines.dropFirst().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !question.isEmpty, !answer.isEmpty else {
            Terminal.error("the first line is the question and the rest the answer; one was empty, nothing approved")
            throw ExitCode(1)
        }
        return (question, answer)
    }
}

struct KnowledgeRejectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject", abstract: "Turn a candidate down; it is not proposed again from the same conversation.")

    @OptionGroup var redis: RedisOptions

    @Argument(help: "The candidate's id, as `knowledge candidates` shows it.")
    var id: String

    func run() async throws {
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 1)
        defer { pool.close() }
        guard
            try await RedisFailure.exitOnFailure({
                try await KnowledgeCandidates(pool: pool, keys: Keys(prefix: redis.keyPrefix)).reject(id)
            })
        else { throw KnowledgeApproveCommand.missing(id) }
        print("rejected: \(Terminal.visible(id))")
    }
}
