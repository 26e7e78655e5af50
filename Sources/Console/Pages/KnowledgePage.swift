import Foundation
import Jobs
import Queue

/// The Knowledge page's data: the sources and how far each is indexed, the candidates agents'
/// answers made, waiting for a person, and the outcome of a question tried.
extension Pages {
    func knowledge() async throws -> [String: Any] {
        let sources = try await KnowledgeSources(pool: broker.pool, keys: broker.keys).all()
        let candidates = try await KnowledgeCandidates(pool: broker.pool, keys: broker.keys).all()
        let gauges = try await inspector.gauges(["knowledge"]).first
        let rows: [[String: Any]] = sources.map { source in
            [
                "id": source.id, "origin": source.origin, "format": source.format.rawValue, "listing": source.listing ?? "(the account)",
                "restricted": source.restricted, "state": source.state.rawValue,
                "progress": source.state == .indexing
                    ? "\(source.written ?? 0)/\(source.pieces.map(String.init) ?? "?")" : "",
                "failed": source.state == .failed, "error": source.error ?? "", "pieces": source.livePieces.map(String.init) ?? "-",
                "updated": source.updated,
            ]
        }
        let waiting: [[String: Any]] = candidates.map { candidate in
            [
                "id": candidate.id, "question": candidate.question, "answer": candidate.answer,
                "conversation": String(candidate.conversation), "proposed": candidate.proposed,
            ]
        }
        let answers = try await AssistantMetrics.recentAnswers(days: 7, pool: broker.pool, keys: broker.keys)
        let outcomes = AssistantMetrics.Outcome.allCases
        let tally: [[String: Any]] = ["guest", "team", "agent"].map { audience in
            [
                "audience": audience,
                "cells": outcomes.map { ["n": answers["\(audience) \($0.rawValue)"] ?? 0] },
            ]
        }
        return [
            "outcomes": outcomes.map { ["label": Self.label($0)] }, "answers": tally, "answerTotal": answers.values.reduce(0, +),
            "sources": rows, "hasSources": !rows.isEmpty, "candidates": waiting, "hasCandidates": !waiting.isEmpty,
            "sourceCount": sources.count, "pieceCount": sources.reduce(0) { $0 + ($1.livePieces ?? 0) },
            "failedCount": sources.filter { $0.state == .failed }.count, "hasFailed": sources.contains { $0.state == .failed },
            "indexingCount": sources.filter { $0.state == .indexing }.count, "candidateCount": waiting.count,
            "noConsumer": (gauges?.consumers ?? 0) == 0,
        ]
    }

    static func label(_ outcome: AssistantMetrics.Outcome) -> String {
        switch outcome {
        case .answered: "answered"
        case .answeredWithoutKnowledge: "answered without knowledge"
        case .handedOverNoKnowledge: "handed over: nothing known"
        case .handedOverAsked: "handed over: asked for a person"
        case .silentPersonHasIt: "silent: a person has it"
        case .silentPersonAnswered: "silent: a person answered first"
        }
    }

    /// A tried question's page: its outcome, or that it is still being answered.
    func trial(_ id: String) async throws -> [String: Any] {
        var context: [String: Any] = ["id": id]
        switch try await TrialQuestions.outcome(id, pool: broker.pool, keys: broker.keys) {
        case nil:
            context["waiting"] = true
            context["noConsumer"] = (try await inspector.gauges(["knowledge"]).first?.consumers ?? 0) == 0
        case .failed(let error):
            context["error"] = error
        case .answered(let trial):
            context["answered"] = true
            context["audience"] = trial.audience
            context["pieces"] = trial.pieces.map { piece -> [String: Any] in
                [
                    "score": String(format: "%.3f", piece.score), "source": piece.source, "title": piece.title ?? "",
                    "listing": piece.listing ?? "", "restricted": piece.restricted, "text": String(piece.text.prefix(600)),
                ]
            }
            context["hasPieces"] = !trial.pieces.isEmpty
            context["booking"] = trial.booking ?? ""
            context["restrictedOpen"] = trial.restrictedOpen
            context["leftOut"] = trial.leftOut.map { piece -> [String: Any] in
                ["score": String(format: "%.3f", piece.score), "source": piece.source, "title": piece.title ?? "", "reason": piece.reason]
            }
            context["hasLeftOut"] = !trial.leftOut.isEmpty
            context["answer"] = trial.answer ?? ""
            context["handOver"] = trial.handOver ?? ""
        }
        return context
    }
}
