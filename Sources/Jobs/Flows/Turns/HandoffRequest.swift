import Foundation

/// A guest asking for a person, as the chat model reports it: asked (in the system prompt) to
/// start its answer with a line `HANDOFF` when the guest wants a person, then to tell the guest,
/// in their own language, that a colleague takes over. The marker line never reaches the guest.
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
        let firstLine = trimmed.prefix { $0 != "\n" }
        let word = firstLine.trimmingCharacters(in: .whitespaces.union(.punctuationCharacters)).uppercased()
        guard word == Self.marker else {
            text = trimmed
            wantsPerson = false
            return
        }
        wantsPerson = true
        let rest = trimmed.dropFirst(firstLine.count).trimmingCharacters(in: .whitespacesAndNewlines)
        text = rest.isEmpty ? "A colleague will take over here shortly." : rest
    }
}
