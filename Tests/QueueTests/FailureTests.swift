import Foundation
import Jobs
import Redis
import Services
import TestSupport
import Testing

@testable import Queue

@Suite struct FailureTests {
    @Test func retriesThenSucceeds() async throws {
        let h = try await Harness()
        let flaky = JobDefinition(
            kind: "flaky", queue: "q", retry: .exponentialJitter(maxAttempts: 5, base: .milliseconds(50), cap: .milliseconds(200)),
            timeout: .seconds(5), payload: TestKinds.Sleep.self
        ) { _, context in
            try await context.redis.send("HINCRBY", h.runsKey, context.id, "1")
            if context.attempt < 3 { throw JobFailure.retryable("flaky on attempt \(context.attempt)") }
            return .done
        }
        let consumer = h.consumer(JobRegistry([flaky]))
        let envelope = try await h.running([consumer]) {
            let envelope = try await h.enqueue("flaky", maxAttempts: 5)
            #expect(
                await eventually {
                    let runs = try? await h.runs()[envelope.id]
                    let length = try? await h.length()
                    let delayed = try? await h.delayedCount()
                    return runs == 3 && length == 0 && delayed == 0
                })
            return envelope
        }
        #expect(try await h.runs()[envelope.id] == 3)
        #expect(try await h.deadCount() == 0)
    }

    @Test func exhaustedRetriesDeadLetterWithHistoryAndTimes() async throws {
        let h = try await Harness()
        let kind = TestKinds.failing(
            "down", runsKey: h.runsKey, failure: .retryable("upstream 503"),
            retry: .exponentialJitter(maxAttempts: 3, base: .milliseconds(40), cap: .milliseconds(100)))
        let consumer = h.consumer(JobRegistry([kind]))
        let envelope = try await h.running([consumer]) {
            let envelope = try await h.enqueue("down", #"{"ms": 1}"#, maxAttempts: 3)
            #expect(await eventually { (try? await h.deadCount()) == 1 })
            return envelope
        }
        let letter = try #require(try await h.deadLetters().first)
        #expect(letter.envelope.id == envelope.id)
        #expect(letter.envelope.payload == #"{"ms": 1}"#)
        #expect(letter.envelope.attempt == 3)
        #expect(letter.queue == "q")
        #expect(letter.error == "upstream 503 (attempt 3 of 3)")
        #expect(letter.envelope.history.map(\.attempt) == [1, 2, 3])
        #expect(letter.firstFailedAt == letter.envelope.history[0].at)
        #expect(letter.lastFailedAt >= letter.firstFailedAt)
        #expect(letter.firstFailedAt >= envelope.enqueuedAt)
        #expect(try await h.runs()[envelope.id] == 3)
        #expect(try await h.length() == 0)
        #expect(try await h.delayedCount() == 0)
    }

    @Test func retryWaitsInTheDelayedSetWithinTheJitterWindow() async throws {
        let h = try await Harness()
        let retry = RetryPolicy.exponentialJitter(maxAttempts: 3, base: .seconds(20), cap: .seconds(60))
        // No promoter during the test: full jitter may draw a delay of a few milliseconds, and a
        // promoter would move the retry back to the stream before it is looked at.
        let consumer = h.consumer(
            JobRegistry([TestKinds.failing("slow", runsKey: h.runsKey, failure: .retryable("x"), retry: retry)]),
            promoteInterval: .seconds(3600))
        let before = WallClock.unixMilliseconds()
        try await h.running([consumer]) {
            _ = try await h.enqueue("slow")
            #expect(await eventually { (try? await h.delayedCount()) == 1 })
        }
        let waiting = try await Inspector(broker: h.broker).delayed("q")
        let (next, due) = try #require(waiting.first)
        #expect(next.attempt == 2)
        #expect(due >= before && due <= WallClock.unixMilliseconds() + 20_000)
        #expect(try await h.length() == 0)
    }

    @Test func retryAfterFromUpstreamIsTheMinimumDelay() async throws {
        let h = try await Harness()
        let consumer = h.consumer(
            JobRegistry([
                TestKinds.failing(
                    "limited", runsKey: h.runsKey, failure: .retryable("429 Too Many Requests", retryAfter: .seconds(30)),
                    retry: .exponentialJitter(maxAttempts: 3, base: .milliseconds(10), cap: .milliseconds(10)))
            ]))
        let before = WallClock.unixMilliseconds()
        try await h.running([consumer]) {
            _ = try await h.enqueue("limited")
            #expect(await eventually { (try? await h.delayedCount()) == 1 })
        }
        let due = try #require(try await Inspector(broker: h.broker).delayed("q").first?.dueAt)
        #expect(due >= before + 30_000)
    }

    @Test func permanentFailureSkipsRetries() async throws {
        let h = try await Harness()
        let consumer = h.consumer(
            JobRegistry([
                TestKinds.failing(
                    "bad", runsKey: h.runsKey, failure: .permanent("422 invalid phone number"),
                    retry: .exponentialJitter(maxAttempts: 5))
            ]))
        let envelope = try await h.running([consumer]) {
            let envelope = try await h.enqueue("bad", maxAttempts: 5)
            #expect(await eventually { (try? await h.deadCount()) == 1 })
            return envelope
        }
        let letter = try #require(try await h.deadLetters().first)
        #expect(letter.error == "422 invalid phone number")
        #expect(letter.envelope.attempt == 1)
        #expect(try await h.runs()[envelope.id] == 1)
        #expect(try await h.delayedCount() == 0)
    }

    @Test func aHandlerPastItsTimeoutIsCancelledAndRetried() async throws {
        let h = try await Harness()
        // Full jitter may make the retry due at once: no promotion while the test looks at it.
        let consumer = h.consumer(
            JobRegistry([
                TestKinds.recorded(
                    "hang", runsKey: h.runsKey, timeout: .milliseconds(200), retry: .exponentialJitter(maxAttempts: 2, base: .seconds(30)))
            ]),
            promoteInterval: .seconds(3600))
        try await h.running([consumer]) {
            _ = try await h.enqueue("hang", #"{"ms": 60000}"#, maxAttempts: 2)
            #expect(await eventually { (try? await h.delayedCount()) == 1 })
        }
        let next = try #require(try await Inspector(broker: h.broker).delayed("q").first?.envelope)
        #expect(next.history.last?.error.contains("timed out after") == true)
        #expect(try await h.runs().isEmpty)
    }
}

/// What runs after a job is dead-lettered.
@Suite struct DeadLetterHookTests {
    @Test func theHookRunsOnceAfterTheLetterIsWrittenAndItsFailureStopsNothing() async throws {
        let h = try await Harness()
        let notes = "{\(h.keys.prefix)}:notes"
        let pool = h.pool
        let noted = JobDefinition(
            kind: "noted", queue: "q", retry: .once, timeout: .seconds(5), payload: TestKinds.Sleep.self,
            onDeadLetter: { _, error, _ in
                // The letter is already there when the hook runs.
                let dead = try await pool.send("XLEN", h.keys.dead("q")).integer ?? 0
                try await pool.send("RPUSH", notes, "\(dead):\(error)")
            }
        ) { _, _ in throw JobFailure.permanent("upstream said 422") }
        let broken = JobDefinition(
            kind: "broken", queue: "q", retry: .once, timeout: .seconds(5), payload: TestKinds.Sleep.self,
            onDeadLetter: { _, _, _ in throw JobFailure.retryable("the note could not be posted") }
        ) { _, _ in
            throw JobFailure.permanent("bad")
        }
        let consumer = h.consumer(JobRegistry([noted, broken, TestKinds.recorded(runsKey: h.runsKey)]))
        try await h.running([consumer]) {
            _ = try await h.enqueue("broken", #"{"ms": 0}"#)
            _ = try await h.enqueue("noted", #"{"ms": 0}"#)
            let after = try await h.enqueue("recorded")
            #expect(
                await eventually {
                    let dead = try? await h.deadCount()
                    let runs = try? await h.runs()
                    return dead == 2 && runs?[after.id] == 1
                })
            #expect(await eventually { (try? await pool.send("LLEN", notes).integer) == 1 })
        }
        let note = try await pool.send("LRANGE", notes, "0", "-1").array?.first?.string ?? ""
        #expect(note.hasSuffix(":upstream said 422") && note.first != "0", "ran once, after the letter was written: \(note)")
    }
}

/// A failed service call becomes the job failure the engine acts on.
@Suite struct ServiceFailureMappingTests {
    @Test func retryableCallsKeepTheirAdvisedDelayAndOthersArePermanent() {
        // Being held back — by the service's 429 or by our own limit — is throttling, not a failure.
        let throttled = HTTPFailure(
            kind: .status(429), request: "POST https://api.groq.com/openai/v1/chat/completions", detail: "rate limited",
            retryAfter: .seconds(6))
        #expect(JobFailure(throttled) == .throttled(throttled.description, retryAfter: .seconds(6)))
        let unadvised = HTTPFailure(kind: .status(429), request: "POST …", detail: "")
        #expect(JobFailure(unadvised) == .throttled(unadvised.description, retryAfter: PauseAdvice.unadvised))
        let held = HTTPFailure(
            kind: .throttled(.groq), request: "calls to groq", detail: "rate, limit 30/min", retryAfter: .milliseconds(1500))
        #expect(JobFailure(held) == .throttled(held.description, retryAfter: .milliseconds(1500)))
        let unavailable = HTTPFailure(kind: .status(503), request: "POST …", detail: "", retryAfter: .seconds(6))
        #expect(JobFailure(unavailable) == .retryable(unavailable.description, retryAfter: .seconds(6)))
        let down = HTTPFailure(kind: .transport, request: "GET http://qdrant:6333/collections/k", detail: "Connection refused")
        #expect(JobFailure(down) == .retryable(down.description, retryAfter: nil))
        let gone = HTTPFailure(kind: .status(400), request: "POST …", detail: "model_decommissioned")
        #expect(JobFailure(gone) == .permanent(gone.description))
        #expect(
            JobFailure(HTTPFailure(kind: .unexpectedAnswer, request: "POST …", detail: "no vectors"))
                == .permanent("POST … answered something unexpected: no vectors"))
    }
}
