import Foundation
import Services

/// A person's points in Qdrant: their calls' transcripts and their bookings' facts, found by the
/// knowledge keys the points carry (`guest_keys`) and by their reservations' ids, scrolled a page
/// at a time with only the fields a report shows.
struct HeldKnowledge {
    let qdrant: QdrantClient

    func filter(_ subject: DataSubject) -> QdrantFilter? {
        var should: [QdrantFilter.Condition] = []
        if !subject.keys.isEmpty { should.append(.any("guest_keys", subject.keys.sorted())) }
        if !subject.reservations.isEmpty { should.append(.any("reservation_id", subject.reservations.sorted())) }
        guard !should.isEmpty else { return nil }
        return QdrantFilter(must: [.equals("account_id", .integer(subject.account))], should: should)
    }

    /// The calls and reservations the person's points name (to find their recordings and stays).
    func links(_ subject: DataSubject) async throws -> (calls: Set<Int>, reservations: Set<String>) {
        guard let filter = filter(subject) else { return ([], []) }
        var calls = Set<Int>()
        var reservations = Set<String>()
        try await qdrant.scroll(filter, fields: ["call_id", "reservation_id"]) { page in
            for point in page {
                if let call = point.payload?["call_id"]?.integer { calls.insert(call) }
                if let reservation = point.payload?["reservation_id"]?.string { reservations.insert(reservation) }
            }
        }
        return (calls, reservations)
    }

    func sweep(_ subject: DataSubject, forget: Bool) async throws -> PlaceReport {
        var report = PlaceReport("knowledge points")
        guard let filter = filter(subject) else { return report }
        try await qdrant.scroll(filter, fields: ["source", "source_id", "chunk", "started_at", "check_in"]) { page in
            for point in page {
                let payload = point.payload ?? [:]
                let source = payload["source_id"]?.string ?? "?"
                let chunk = payload["chunk"]?.integer.map { " piece \($0 + 1)" } ?? ""
                var at: Date?
                if let started = payload["started_at"]?.integer { at = Date(timeIntervalSince1970: Double(started)) }
                let checkIn = payload["check_in"]?.string.map { ", check-in \($0.prefix(10))" } ?? ""
                report.add("\(payload["source"]?.string ?? "point") \(source)\(chunk)\(checkIn)", at: at)
            }
        }
        if forget && report.held > 0 {
            try await qdrant.delete(filter)
            report.removed = report.held
        }
        return report
    }
}
