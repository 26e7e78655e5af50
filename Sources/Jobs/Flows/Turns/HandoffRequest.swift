import Foundation

/// A guest asking for a person, as the chat model reports it: asked (in the system prompt) to
/// start its answer with a line `HANDOFF` when the guest wants a person, then to tell the guest,
/// in their own language, that a colleague takes over. Models do not always obey the form: the
/// marker in any case, with a colon, in backticks or bold, on the first line beside the sentence or
/// further down, is still the hand-off. Wherever it stands, the guest never reads it.
struct HandoffRequest: Equatable {
    static let marker = "HANDOFF"

    static let instruction = """
        If the guest asks to talk to a person (a human, a member of staff, someone from the team), \
        answer with a first line that says only \(marker), then one short sentence in the guest's \
        language telling them a colleague will take over here shortly. Never write \(marker) otherwise.
        """

    /// What the guest is to read.
    let text: String
    let wantsPerson: Bool

    /// An answer taken as it is (to the team, where no hand-off is asked for).
    init(text: String) {
        self.text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        wantsPerson = false
    }

    init(_ answer: String) {
        let trimmed = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        // The word itself, whatever its case, with what a model wraps it in (`code`, **bold**,
        // [brackets], quotes) and a colon or dash after it.
        let mark = /[`*_\[\(<"']*\b(?i:handoff)\b[`*_\]\)>"']*\s*[:\-–—]?/
        guard trimmed.contains(mark) else {
            text = trimmed
            wantsPerson = false
            return
        }
        wantsPerson = true
        let rest = trimmed.replacing(mark, with: "")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { line in line.contains { $0.isLetter || $0.isNumber } }
            .joined(separator: "\n")
        text = rest.isEmpty ? "A colleague will take over here shortly." : rest
    }
}
