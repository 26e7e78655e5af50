@testable import Jobs
import Queue
import Testing

/// The flows' retry budgets as operators write them.
@Suite struct RetryBudgetsTests {
    @Test func budgetsAreReadAsAttemptsBaseAndCap() {
        #expect(RetryBudgets.parse("4/2s/20s") == RetryPolicy(maxAttempts: 4, base: .seconds(2), cap: .seconds(20)))
        #expect(RetryBudgets.parse(" 10 / 500ms / 5m ") == RetryPolicy(maxAttempts: 10, base: .milliseconds(500), cap: .seconds(300)))
        #expect(RetryBudgets.parse("12/5s/1.5h") == RetryPolicy(maxAttempts: 12, base: .seconds(5), cap: .seconds(5400)))
        for wrong in ["", "4", "4/2s", "0/1s/2s", "4/2/20s", "4/20s/2s", "x/1s/2s", "4/-1s/2s", "4/1s/1e300h", "4/1s/infh", "4/nans/1s"] {
            #expect(RetryBudgets.parse(wrong) == nil, "\(wrong)")
        }
    }

    @Test func aMalformedBudgetIsRefusedNamingItsVariable() {
        #expect(throws: Never.self) { try RetryBudgets.check(["RETRY_CALL": "20/10s/30m", "RETRY_CHAT": ""]) }
        #expect { try RetryBudgets.check(["RETRY_VOICE": "three"]) } throws: { "\($0)".contains("RETRY_VOICE") }
        #expect(RetryBudgets.configured("RETRY_CHAT", default: .once, environment: ["RETRY_CHAT": "2/1s/1s"]).maxAttempts == 2)
        #expect(RetryBudgets.configured("RETRY_CHAT", default: .once, environment: [:]) == .once)
        #expect { try RetryBudgets.check(["RETRY_CALL_DOWNLOAD": "1/1s"]) } throws: { "\($0)".contains("RETRY_CALL_DOWNLOAD") }
    }

    @Test func aStageMayHaveABudgetOfItsOwn() {
        let settings = RetryBudgets.settings(["RETRY_CHAT_GENERATE": "3/1s/5s", "RETRY_CHAT": "2/1s/1s", "RETRY_CALL_DOWNLOAD": "20/5s/10m", "PATH": "/bin"])
        #expect(settings == ["chat.generate": RetryPolicy(maxAttempts: 3, base: .seconds(1), cap: .seconds(5)),
                             "call.download": RetryPolicy(maxAttempts: 20, base: .seconds(5), cap: .seconds(600))],
                "per-kind names map to kinds; the flow-wide ones are not kinds")
    }
}
