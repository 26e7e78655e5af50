import Foundation
import Queue
import Redis

/// What Switchboard keeps per conversation and per contact in Redis: the identities verified for a
/// conversation's guest, the public answers it posted there, questions tried from the console as
/// this guest, and the record of the contact itself (`KnownContacts`, removed last, so a forget cut
/// short can still find everything the next time).
struct HeldConversationRecords {
    let pool: RedisPool
    let keys: Keys

    /// The conversations whose verified identities include one of the person's keys.
    func verifiedConversations(_ subject: DataSubject) async throws -> Set<Int> {
        guard !subject.keys.isEmpty else { return [] }
        var found = Set<Int>()
        let prefix = keys.verifiedGuest(account: subject.account, conversation: 0).dropLast(1)
        try await scan(match: prefix + "*") { names in
            let replies = try await pool.pipeline(names.map { RedisCommand("HKEYS", [$0]) })
            for (name, reply) in zip(names, replies)
            where (reply.array ?? []).contains(where: { $0.string.map(subject.keys.contains) ?? false }) {
                if let id = Int(name.dropFirst(prefix.count)) { found.insert(id) }
            }
        }
        return found
    }

    func sweep(_ subject: DataSubject, forget: Bool) async throws -> PlaceReport {
        var report = PlaceReport("conversation records")
        for conversation in subject.conversations.sorted() {
            let identities = keys.verifiedGuest(account: subject.account, conversation: conversation)
            let posted = keys.postedPublicly(account: subject.account, conversation: conversation)
            let replies = try await pool.pipeline([RedisCommand("EXISTS", [identities]), RedisCommand("EXISTS", [posted])])
            if replies[0].integer == 1 { report.add("identities verified for conversation \(conversation)") }
            if replies[1].integer == 1 { report.add("answers posted in conversation \(conversation)") }
            if forget, replies.contains(where: { $0.integer == 1 }) {
                report.removed += try await pool.send("DEL", identities, posted).integer ?? 0
            }
        }
        var trials: [String] = []
        try await scan(match: keys.knowledgeTrial("*")) { names in
            let replies = try await pool.pipeline(names.map { RedisCommand("GET", [$0]) })
            for (name, reply) in zip(names, replies) {
                if let text = reply.string, subject.matches(payload: text) { trials.append(name) }
            }
        }
        for name in trials { report.add("a question tried from the console as this guest (\(name.split(separator: ":").last ?? ""))") }
        if forget, !trials.isEmpty { report.removed += try await pool.send(RedisCommand("DEL", trials)).integer ?? 0 }
        for contact in subject.contacts.sorted() {
            guard try await KnownContacts.known(pool: pool, keys: keys, account: subject.account, contact: contact) != nil else { continue }
            report.add("the record of Chatwoot contact \(contact)")
        }
        return report
    }

    /// Removes the person's contact records: the last step of a forget.
    func forgetContacts(_ subject: DataSubject, into report: inout PlaceReport) async throws {
        for contact in subject.contacts.sorted() {
            if try await KnownContacts.forget(pool: pool, keys: keys, account: subject.account, contact: contact) { report.removed += 1 }
        }
    }

    private func scan(match pattern: String, _ body: ([String]) async throws -> Void) async throws {
        try await pool.scan("SCAN", match: pattern, count: 1000) { page in
            let names = (page.array ?? []).compactMap(\.string)
            if !names.isEmpty { try await body(names) }
        }
    }
}
