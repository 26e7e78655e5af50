/// Splits long text (a call transcript) into overlapping pieces small enough to embed well, cut
/// between words, so a passage that straddles a cut is still found whole in one of the pieces.
enum TextChunks {
    /// Pieces of at most about `size` characters (a single longer word stays whole), each after the
    /// first starting with the last `overlap` characters' worth of words of the one before.
    static func split(_ text: String, size: Int = 1_000, overlap: Int = 150) -> [String] {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard !words.isEmpty else { return [] }
        var chunks: [String] = []
        var current: [Substring] = []
        var length = 0
        for word in words {
            if length > 0 && length + 1 + word.count > size {
                chunks.append(current.joined(separator: " "))
                var carried: [Substring] = []
                var carriedLength = 0
                for previous in current.reversed() {
                    guard carriedLength + previous.count + 1 <= overlap else { break }
                    carried.insert(previous, at: 0)
                    carriedLength += previous.count + 1
                }
                current = carried
                length = max(0, carriedLength - 1)
            }
            length += (length > 0 ? 1 : 0) + word.count
            current.append(word)
        }
        chunks.append(current.joined(separator: " "))
        return chunks
    }
}
