/// A W3C Trace Context `traceparent` (`00-<trace id>-<parent id>-<flags>`), kept with a job so
/// the trace a caller started goes on through every stage of its flow.
///
/// Only a well-formed value is kept: the version is two hex digits other than `ff`, the ids are
/// lowercase hex and not all zeros; anything else is dropped, as the recommendation says, so a
/// hostile header never reaches a log line or a stream as it came.
public struct TraceParent: Sendable, Equatable, CustomStringConvertible {
    public let traceID: String
    public let parentID: String
    public let flags: String

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        // Versions after 00 may append fields; the first four keep their meaning.
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", Self.isHex(parts[0]),
            parts[0] != "00" || parts.count == 4,
            parts[1].count == 32, Self.isHex(parts[1]), parts[1].contains(where: { $0 != "0" }),
            parts[2].count == 16, Self.isHex(parts[2]), parts[2].contains(where: { $0 != "0" }),
            parts[3].count == 2, Self.isHex(parts[3])
        else { return nil }
        traceID = String(parts[1])
        parentID = String(parts[2])
        flags = String(parts[3])
    }

    private init(traceID: String, parentID: String, flags: String) {
        self.traceID = traceID
        self.parentID = parentID
        self.flags = flags
    }

    /// The header as version 00 writes it.
    public var description: String { "00-\(traceID)-\(parentID)-\(flags)" }

    /// The same trace, continued from the job `jobID`: the next stage's parent is that job's span
    /// (`span(of:)`), so each stage is a child of the one before it.
    public func child(of jobID: String) -> TraceParent {
        TraceParent(traceID: traceID, parentID: Self.span(of: jobID), flags: flags)
    }

    /// A job's span id: 16 hex digits derived from its job id (FNV-1a), the same wherever it is
    /// computed, so a log line's `job.id` leads to the span without storing it.
    public static func span(of jobID: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in jobID.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        if hash == 0 { hash = 1 }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func isHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
