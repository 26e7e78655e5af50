import Foundation
import Logging
import Queue
import Redis
import Services
import TestSupport
import Testing

@testable import Limits

/// The shared limiter against a real Redis: several gates stand for several replicas, each with
/// its own connection, all holding one limit.
@Suite struct SharedServiceGateTests {
    let server: RedisServer
    let keys = Keys(prefix: "limits-test")

    init() async throws {
        server = try await RedisServer()
    }

    func gate(_ limit: ServiceLimit, service: ExternalService = .groq, maxWait: Duration = .zero) -> SharedServiceGate {
        SharedServiceGate(
            pool: RedisPool(endpoint: server.endpoint, size: 1), keys: keys, limits: ServiceLimits([service: limit]),
            maxWait: { _ in maxWait }, logger: Logger(label: "test"))
    }

    /// The wait a refused call is told, or nil when it went through.
    func refusal(_ gate: SharedServiceGate, _ service: ExternalService = .groq, priority: CallPriority = .interactive) async throws
        -> HTTPFailure?
    {
        do {
            let pass = try await gate.enter(service, priority: priority, lease: .seconds(30))
            await gate.leave(pass, response: nil)
            return nil
        } catch let failure as HTTPFailure {
            return failure
        }
    }

    @Test func aFullBucketLetsItsBurstThroughThenTellsWhenTheNextTokenComes() async throws {
        // Slow enough that no token comes back while the test runs, however loaded the machine.
        let gate = gate(ServiceLimit(rate: RateLimit(5, per: .minute)))
        for call in 1...5 { #expect(try await refusal(gate) == nil, "call \(call) of the burst") }
        let held = try #require(try await refusal(gate))
        guard case .throttled(.groq) = held.kind else { Issue.record("\(held)"); return }
        let wait = try #require(held.retryAfter)
        #expect(
            wait > .zero && wait <= SharedServiceGate.horizon, "a token comes back in 12 s; the job asks again within the horizon: \(wait)")
        #expect(held.description.contains("rate") && held.description.contains("5/min"), "\(held)")
    }

    @Test func eachCallHeldBackIsToldATimeOfItsOwn() async throws {
        let pool = RedisPool(endpoint: server.endpoint, size: 1)
        func acquire(_ interval: Duration) async throws -> LimitDecision {
            LimitDecision(
                try await LimitScripts.acquire.run(
                    on: pool.client, keys: [keys.limit("groq"), keys.limitInFlight("groq")],
                    arguments: [
                        String(interval.microseconds), "1", "0", "0", "", "interactive", String(SharedServiceGate.horizon.microseconds),
                        "test",
                    ]))
        }
        // The grant and the two held calls in one pipeline: Redis runs them back to back, so how
        // loaded this machine is cannot move their times apart (the script's own rule keeps the
        // place of a caller back within half an interval of its time, which a slow test would reach).
        let arguments = [String(4_000_000), "1", "0", "0", "", "interactive", String(SharedServiceGate.horizon.microseconds), "test"]
        let evaluate = RedisCommand("EVAL", [LimitScripts.acquire.source, "2", keys.limit("groq"), keys.limitInFlight("groq")] + arguments)
        let decisions = try await pool.pipeline([evaluate, evaluate, evaluate]).map(LimitDecision.init)
        #expect(decisions[0].wait == nil)
        let first = try #require(decisions[1].wait)
        let second = try #require(decisions[2].wait)
        // One interval apart (less the microseconds between the two scripts).
        #expect(second - first > .milliseconds(3_990) && second - first <= .seconds(4), "\(first) then \(second)")
        // Redeployed with a faster limit: the bucket is rescaled and the old times forgotten.
        let faster = try await acquire(.milliseconds(400)).wait
        #expect(faster == nil || faster! <= .milliseconds(400), "\(String(describing: faster))")
    }

    @Test func tenReplicasTogetherNeverExceedTheRate() async throws {
        let limit = RateLimit(20, per: .second)
        let gates = (0..<10).map { _ in gate(ServiceLimit(rate: limit), maxWait: .seconds(10)) }
        let granted = LockedValue<[Int64]>([])
        // 100 calls from ten replicas at once: 20 at once, then one every 50 ms. Each is timed by
        // Redis's clock as the limit let it through (this process may see several at once after a stall).
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                let gate = gates[index % gates.count]
                group.addTask {
                    let pass = try await gate.enter(.groq, priority: .interactive, lease: .seconds(30))
                    granted.withLock { $0.append(pass.grantedAt ?? 0) }
                    await gate.leave(pass, response: nil)
                }
            }
            try await group.waitForAll()
        }
        let times = granted.value.sorted()
        #expect(times.count == 100 && times.first ?? 0 > 0)
        // Token bucket: between any two grants i < j, at most burst + elapsed/interval calls, exactly.
        var worst = 0
        for i in times.indices {
            for j in times.indices where j > i {
                let allowed = limit.count + Int((times[j] - times[i]) / limit.intervalMicroseconds)
                worst = max(worst, j - i + 1 - allowed)
            }
        }
        #expect(worst <= 0, "a window saw \(worst) calls over the limit")
        // …and the rate is used: the 80 calls after the burst take about 4 s, not much more.
        let span = Duration.microseconds(times.last! - times.first!)
        #expect(span >= .milliseconds(3900) && span < .seconds(15), "\(span)")
    }

    @Test func concurrencyCountsCallsInFlightAcrossReplicasUntilTheyLeave() async throws {
        let first = gate(ServiceLimit(concurrency: 2), service: .azureSTT)
        let second = gate(ServiceLimit(concurrency: 2), service: .azureSTT)
        let a = try await first.enter(.azureSTT, priority: .interactive, lease: .seconds(30))
        let b = try await second.enter(.azureSTT, priority: .interactive, lease: .seconds(30))
        let held = try #require(try await refusal(first, .azureSTT))
        #expect(held.description.contains("concurrency"), "\(held)")
        await first.leave(a, response: nil)
        #expect(try await refusal(second, .azureSTT) == nil, "a slot freed by one replica is taken by another")
        await second.leave(b, response: nil)
        #expect(try await server.command("ZCARD", keys.limitInFlight("azure_stt")).integer == 0)
    }

    @Test func aCallerThatDiesFreesItsSlotWhenItsLeaseEnds() async throws {
        let gate = gate(ServiceLimit(concurrency: 1), service: .azureSTT)
        let entered = ContinuousClock.now
        _ = try await gate.enter(.azureSTT, priority: .interactive, lease: .seconds(2))  // never leaves
        let held = try await refusal(gate, .azureSTT)
        #expect(held != nil || ContinuousClock.now - entered > .seconds(2), "a slot in use was given twice")
        #expect(try await eventually(timeout: .seconds(10)) { try await refusal(gate, .azureSTT) == nil })
    }

    @Test func a429PausesTheServiceForEveryReplicaUntilTheAdvisedTime() async throws {
        let first = gate(ServiceLimit(rate: RateLimit(1000, per: .second)))
        let other = gate(ServiceLimit(rate: RateLimit(1000, per: .second)))
        let pass = try await first.enter(.groq, priority: .interactive, lease: .seconds(30))
        await first.leave(pass, response: HTTPClient.Response(status: 429, headers: [("retry-after", "8")], body: []))
        let held = try #require(try await refusal(other))
        #expect(held.description.contains("paused"), "\(held)")
        let wait = try #require(held.retryAfter)
        #expect(wait > .seconds(4) && wait <= .seconds(8), "\(wait)")
        #expect(try await refusal(first) != nil, "the replica that saw the 429 waits too")
    }

    @Test func groqSayingAQuotaIsUsedUpPausesBeforeAny429() async throws {
        let gate = gate(ServiceLimit(rate: RateLimit(1000, per: .second)))
        let pass = try await gate.enter(.groq, priority: .interactive, lease: .seconds(30))
        await gate.leave(
            pass,
            response: HTTPClient.Response(
                status: 200,
                headers: [
                    ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "7.5s"),
                    ("x-ratelimit-remaining-tokens", "4000"), ("x-ratelimit-reset-tokens", "7.66s"),
                ], body: []))
        let held = try #require(try await refusal(gate))
        let wait = try #require(held.retryAfter)
        #expect(wait > .seconds(4) && wait <= .milliseconds(7500), "\(wait)")
    }

    @Test func backgroundCallsGiveWayWhileAGuestsCallIsHeldBack() async throws {
        let gate = gate(ServiceLimit(rate: RateLimit(8, per: .minute)))
        // Background work may not take the last quarter of the burst: 6 of 8.
        for _ in 1...6 { #expect(try await refusal(gate, priority: .background) == nil) }
        #expect(try await refusal(gate, priority: .background) != nil, "the reserve is kept for guests")
        #expect(try await refusal(gate, priority: .interactive) == nil)
        #expect(try await refusal(gate, priority: .interactive) == nil)
        // A guest's call held back now: background calls get nothing until it went through.
        let guest = try #require(try await refusal(gate, priority: .interactive))
        let background = try #require(try await refusal(gate, priority: .background))
        #expect(background.description.contains("priority"), "\(background)")
        #expect(try #require(background.retryAfter) >= (guest.retryAfter ?? .zero), "background comes back after the guest")
    }

    @Test func withoutALimitNoRoundTripIsMade() async throws {
        let gate = gate(ServiceLimit(), service: .qdrant)
        let before = try await server.command("INFO", "commandstats").string ?? ""
        for _ in 0..<20 { #expect(try await refusal(gate, .qdrant) == nil) }
        let after = try await server.command("INFO", "commandstats").string ?? ""
        #expect(!after.contains("evalsha") || before.contains("evalsha"), "an unlimited service called Redis")
    }
}
