import ArgumentParser
import Foundation
import Jobs
import Logging
import Queue
import Redis
import Services

struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Try the assistant: a question answered as the chat flow would, nothing posted, everything shown.",
        discussion: """
            Retrieval and generation run exactly as in the flow (the consumers' chat settings and \
            CHATWOOT_ACCOUNT_ID), and each piece retrieved is printed with its source, listing, score and \
            whether it is restricted, then the booking facts used, what was left out and why, the answer, \
            and whether it would go to a person. Example: \
            switchboard ask "What is the door code?" --contact +33611111111
            """
    )

    @OptionGroup var redis: RedisOptions

    @Argument(help: "The question, as a guest or the team would write it.")
    var question: String

    @Option(help: "Ask as the guest of this conversation: the identities verified for it find their stay.")
    var conversation: Int?

    @Option(help: "Ask as the guest with this phone number or email (as if the channel vouched for it).")
    var contact: String?

    @Option(help: "Who asks: guest, team or agent.")
    var audience: String = "guest"

    @Flag(help: "One JSON object instead of text.")
    var json = false

    var trial: TrialQuestion? {
        ChatMessage.Audience(rawValue: audience).map {
            TrialQuestion(question: question, audience: $0, conversation: conversation, contact: contact)
        }
    }

    func validate() throws {
        guard let trial else { throw ValidationError("--audience is guest, team or agent") }
        if let problem = trial.problem { throw ValidationError(problem) }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let keys = Keys(prefix: redis.keyPrefix)
        let services: FlowServices
        do {
            guard
                let configured = try FlowConfiguration.services(
                    chat: true, voice: false, keys: keys, http: HTTPClient(connections: 4),
                    setting: { try Environment.value($0, environment) })
            else { throw ConfigurationError("the chat flow's settings are missing") }
            services = configured
        } catch let error as ConfigurationError {
            Terminal.error(error.description)
            throw ExitCode(2)
        }
        let stated = try Environment.value("CHATWOOT_ACCOUNT_ID", environment).flatMap { Int($0) }
        guard let account = services.account ?? stated else {
            Terminal.error("ask needs CHATWOOT_ACCOUNT_ID, as the consumers have it")
            throw ExitCode(2)
        }
        guard let message = trial?.message(account: account) else { throw ExitCode(2) }
        let pool = RedisPool(endpoint: try redis.endpoint(), size: 2)
        defer { pool.close() }
        var logger = Logger(label: "switchboard.ask")
        logger.logLevel = .error
        let trial: AnswerTrial
        do {
            trial = try await RedisFailure.exitOnFailure {
                try await AnswerTrial.run(services, redis: pool, message: message, logger: logger)
            }
        } catch let failure as HTTPFailure {
            Terminal.error("\(failure)")
            throw ExitCode(1)
        }
        if json {
            try Terminal.printJSONLine(trial)
            return
        }
        print(Terminal.paint("Retrieved (\(trial.pieces.count), as a \(trial.audience) asks):", .bold))
        for piece in trial.pieces {
            let marks = [piece.listing.map { "listing \($0)" }, piece.restricted ? "restricted" : nil].compactMap { $0 }
            print(
                String(format: "  %.3f  ", piece.score) + Terminal.visible(piece.source)
                    + (piece.title.map { " — " + Terminal.visible($0) } ?? "")
                    + (marks.isEmpty ? "" : " [\(marks.joined(separator: ", "))]"))
            print("         " + Terminal.visible(String(piece.text.prefix(400))).replacingOccurrences(of: "\n", with: " "))
        }
        print(Terminal.paint("This guest's booking:", .bold), trial.booking.map { Terminal.visible($0) } ?? "none known")
        print(Terminal.paint("Restricted knowledge:", .bold), trial.restrictedOpen ? "open (a confirmed stay is on)" : "closed")
        if !trial.leftOut.isEmpty {
            print(Terminal.paint("Left out (\(trial.leftOut.count)):", .bold))
            for piece in trial.leftOut {
                print(
                    String(format: "  %.3f  ", piece.score) + Terminal.visible(piece.source)
                        + (piece.title.map { " — " + Terminal.visible($0) } ?? "") + ": " + piece.reason)
            }
        }
        if let answer = trial.answer {
            print(Terminal.paint("Answer:", .bold))
            print(Terminal.visible(answer, lines: true))
        }
        print(Terminal.paint("Hands over:", .bold), trial.handOver.map { "yes — \($0)" } ?? "no")
    }
}
