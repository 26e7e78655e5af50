import Foundation
import Queue
import Services

/// Phases that advance by themselves (`triage.advance`, queue `triage`, daily from the schedule):
/// every kept reservation whose phase on the property's day (`TRIAGE_TIME_ZONE`) differs from the
/// day before — pre-stay to during-stay on the check-in day, during-stay to post-stay the day
/// after check-out — has each of its guest's conversations that is not resolved moved: the new
/// phase's label and team, by the same rules as any triage. Run twice, the second run changes
/// nothing (triage writes only what differs). Stays long over are dropped by `privacy.retention`.
public enum PhaseAdvance {
    public static let kind = "triage.advance"
    public static let queue = BookingFlow.triageQueue
    static let retry = RetryPolicy.exponentialJitter(maxAttempts: 5, base: .seconds(30), cap: .seconds(600))

    struct Request: Codable, Sendable {
        /// The day to advance to (`yyyy-MM-dd`), instead of today in the property's time zone.
        var day: String?
    }

    /// Without `services` (a scheduler checking what it may enqueue) it refuses to run.
    public static func definition(_ services: FlowServices?) -> JobDefinition {
        JobDefinition(kind: kind, queue: queue, retry: retry, timeout: .seconds(1800), restartable: true, payload: Request.self) {
            request, context in
            guard let services, let account = services.account else {
                throw JobFailure.permanent("this consumer has no CHATWOOT_ACCOUNT_ID: it cannot move conversations between phases")
            }
            let today = request.day.flatMap { StayPhase.day($0) } ?? services.today()
            guard let yesterday = StayPhase.day(today, plus: -1) else { throw JobFailure.permanent("'\(today)' is not a day") }
            let index = ReservationIndex(pool: context.redis, keys: services.keys)
            var moved = 0
            for reservation in try await index.all() {
                let now = StayPhase.decide(
                    status: reservation.status, checkIn: reservation.checkIn, checkOut: reservation.checkOut, today: today)
                let before = StayPhase.decide(
                    status: reservation.status, checkIn: reservation.checkIn, checkOut: reservation.checkOut, today: yesterday)
                guard case .label = now, now != before else { continue }
                for conversation in try await conversations(of: reservation, services: services, account: account) {
                    try await Triage.apply(services, account: account, conversation: conversation, now)
                    moved += 1
                }
            }
            context.logger.info("stay phases advanced", metadata: ["day": "\(today)", "conversations": "\(moved)"])
            return .done
        }
    }

    /// The guest's conversations that are not resolved (exact phone digits, then email).
    static func conversations(of reservation: BookingChange, services: FlowServices, account: Int) async throws -> [Int] {
        guard
            let contact = try await GuestConversation.contact(
                services.chatwoot, account: account, phone: reservation.guestPhone, email: reservation.guestEmail)
        else {
            return []
        }
        let all = try await services.chatwoot.conversations(account: account, contact: contact)
        return all.filter { $0.status != "resolved" }.map(\.id)
    }
}
