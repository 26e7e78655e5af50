import Foundation
import Synchronization

/// Slows down guessing the console's token, by the form or as a Bearer header.
///
/// Each client address may get it wrong `perClient.burst` times, then once every
/// `1 / perClient.rate` seconds; all clients together `overall.burst` times, then `overall.rate`
/// a second — so many addresses do not add up to a brute force. While a client is held back, its
/// guesses are answered 429 with `Retry-After` without being checked. Only wrong guesses spend;
/// a signed-in session is never held back. At most `maxClients` addresses are remembered (those
/// whose budget refilled are forgotten first).
final class SignInThrottle: Sendable {
    struct Budget: Sendable {
        var burst: Double
        /// Guesses regained per second.
        var rate: Double
    }

    private struct Bucket {
        var left: Double
        var at: ContinuousClock.Instant

        mutating func refill(_ budget: Budget, now: ContinuousClock.Instant) {
            let seconds = Double((now - at).components.seconds) + Double((now - at).components.attoseconds) / 1e18
            left = min(budget.burst, left + max(seconds, 0) * budget.rate)
            at = now
        }
    }

    private struct State {
        var clients: [String: Bucket] = [:]
        var overall: Bucket
    }

    let perClient: Budget
    let overall: Budget
    let maxClients: Int
    private let state: Mutex<State>

    init(perClient: Budget = Budget(burst: 10, rate: 1.0 / 6), overall: Budget = Budget(burst: 100, rate: 1), maxClients: Int = 10_000) {
        self.perClient = perClient
        self.overall = overall
        self.maxClients = maxClients
        state = Mutex(State(overall: Bucket(left: overall.burst, at: .now)))
    }

    /// Whole seconds until `client` may guess again; nil: now.
    func wait(for client: String, now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            state.overall.refill(overall, now: now)
            var own = state.clients[client] ?? Bucket(left: perClient.burst, at: now)
            own.refill(perClient, now: now)
            let waits = [(own.left, perClient.rate), (state.overall.left, overall.rate)].compactMap { left, rate -> Double? in
                left >= 1 ? nil : (1 - left) / rate
            }
            return waits.max().map { Int($0.rounded(.up)) }
        }
    }

    /// A wrong guess from `client`.
    func failed(_ client: String, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.overall.refill(overall, now: now)
            state.overall.left = max(state.overall.left - 1, 0)
            var own = state.clients[client] ?? Bucket(left: perClient.burst, at: now)
            own.refill(perClient, now: now)
            own.left = max(own.left - 1, 0)
            if state.clients[client] == nil && state.clients.count >= maxClients {
                forgetRefilled(&state, now: now)
            }
            state.clients[client] = own
        }
    }

    private func forgetRefilled(_ state: inout State, now: ContinuousClock.Instant) {
        for (address, var bucket) in state.clients {
            bucket.refill(perClient, now: now)
            if bucket.left >= perClient.burst { state.clients[address] = nil }
        }
        // Still full: the addresses closest to their whole budget go.
        if state.clients.count >= maxClients {
            let fullest = state.clients.sorted { $0.value.left > $1.value.left }.prefix(state.clients.count - maxClients + 1)
            for (address, _) in fullest { state.clients[address] = nil }
        }
    }
}
