import Foundation
import Testing

@testable import Services

@Suite struct ServiceLimitsTests {
    @Test func publishedLimitsApplyUnlessSetAndNoneLiftsThem() throws {
        let limits = try ServiceLimits.configured([:])
        #expect(limits[.groq] == ServiceLimit(rate: RateLimit(30, per: .minute)))
        #expect(limits[.hetzner].rate == RateLimit(3600, per: .hour))
        #expect(limits[.azureSTT].concurrency == 100)
        #expect(limits[.qdrant].isUnlimited)
        let set = try ServiceLimits.configured([
            "RATE_LIMIT_GROQ": "5/s", "CONCURRENCY_GROQ": "3", "RATE_LIMIT_CHATWOOT": "none", "RATE_LIMIT_QDRANT": "100/min",
        ])
        #expect(set[.groq] == ServiceLimit(rate: RateLimit(5, per: .second), concurrency: 3))
        #expect(set[.chatwoot].isUnlimited)
        #expect(set[.qdrant].rate == RateLimit(100, per: .minute))
        #expect(RateLimit(30, per: .minute).intervalMicroseconds == 2_000_000)
    }

    @Test(arguments: [
        ("RATE_LIMIT_GROQ", "30"), ("RATE_LIMIT_GROQ", "30/day"), ("RATE_LIMIT_GROQ", "0/s"), ("RATE_LIMIT_GROQ", "-5/min"),
        ("RATE_LIMIT_GROQ", "9223372036854775807/s"), ("RATE_LIMIT_HETZNER", "1e3/h"), ("CONCURRENCY_AZURE_STT", "0"),
        ("CONCURRENCY_AZURE_STT", "lots"), ("RATE_LIMIT_OPENAI", "5/s"), ("CONCURRENCY_GROK", "2"),
    ])
    func malformedSettingsAreRefusedNamingTheVariable(_ name: String, _ value: String) {
        #expect {
            try ServiceLimits.configured([name: value])
        } throws: { error in
            "\(error)".contains(name)
        }
    }

    @Test func groqQuotaResetsAreRead() {
        #expect(PauseAdvice.quotaDuration("2m59.56s") == .milliseconds(179_560))
        #expect(PauseAdvice.quotaDuration("7.66s") == .milliseconds(7660))
        #expect(PauseAdvice.quotaDuration("120ms") == .milliseconds(120))
        #expect(PauseAdvice.quotaDuration("1m2s") == .seconds(62))
        for broken in ["", "5", "s", "1x", "..s", "2m59.56"] { #expect(PauseAdvice.quotaDuration(broken) == nil, "\(broken)") }
        #expect(PauseAdvice.quotaDuration("99999999h") == RetryAdvice.longestAdvisedDelay)
    }

    @Test func only429sAndUsedUpQuotasPause() {
        func response(_ status: Int, _ headers: [(String, String)] = []) -> HTTPClient.Response {
            .init(status: status, headers: headers, body: [])
        }
        #expect(PauseAdvice.pause(after: response(429)) == PauseAdvice.unadvised)
        #expect(PauseAdvice.pause(after: response(429, [("retry-after", "3")])) == .seconds(3))
        #expect(PauseAdvice.pause(after: response(429, [("retry-after", "0")])) == PauseAdvice.unadvised, "no sooner than the floor")
        #expect(PauseAdvice.pause(after: response(503, [("retry-after", "3")])) == nil)
        #expect(
            PauseAdvice.pause(after: response(200, [("x-ratelimit-remaining-requests", "12"), ("x-ratelimit-reset-requests", "5s")])) == nil
        )
        #expect(
            PauseAdvice.pause(after: response(200, [("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "5s")]))
                == .seconds(5))
        // Hetzner: the last request of the hour, and when the bucket has one again (a Unix time).
        let now = Date(timeIntervalSince1970: 1_764_400_000)
        #expect(
            PauseAdvice.pause(after: response(201, [("ratelimit-remaining", "0"), ("ratelimit-reset", "1764400004")]), now: now)
                == .seconds(4))
        #expect(
            PauseAdvice.pause(after: response(201, [("ratelimit-remaining", "3"), ("ratelimit-reset", "1764400004")]), now: now) == nil)
    }
}
