import Queue
import Testing

@testable import Jobs

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

    @Test func aMalformedBudgetIsRefusedNamingItsVariable() throws {
        #expect(throws: Never.self) { try RetryBudgets(environment: ["RETRY_CALL": "20/10s/30m", "RETRY_CHAT": ""]) }
        #expect { try RetryBudgets(environment: ["RETRY_VOICE": "three"]) } throws: { "\($0)".contains("RETRY_VOICE") }
        #expect { try RetryBudgets(environment: ["RETRY_CALL_DOWNLOAD": "1/1s"]) } throws: { "\($0)".contains("RETRY_CALL_DOWNLOAD") }
        let set = try RetryBudgets(environment: ["RETRY_CHAT": "2/1s/1s"])
        #expect(set.policy(for: "chat.retrieve", in: Flows.chat).maxAttempts == 2)
        #expect(RetryBudgets.defaults.policy(for: "chat.retrieve", in: Flows.chat) == Flows.chat.retry, "no setting: the flow's default")
    }

    /// A kind's own setting wins over its flow's; the flow's applies to every stage of that flow,
    /// and only to the kinds of that flow (a kind of no flow keeps its own default).
    @Test func aStageMayHaveABudgetOfItsOwn() throws {
        let budgets = try RetryBudgets(environment: [
            "RETRY_CHAT_GENERATE": "3/1s/5s", "RETRY_CHAT": "2/1s/1s", "RETRY_CALL_DOWNLOAD": "20/5s/10m", "PATH": "/bin",
        ])
        #expect(budgets.policy(for: "chat.generate", in: Flows.chat) == RetryPolicy(maxAttempts: 3, base: .seconds(1), cap: .seconds(5)))
        #expect(budgets.policy(for: "chat.reply", in: Flows.chat) == RetryPolicy(maxAttempts: 2, base: .seconds(1), cap: .seconds(1)))
        #expect(budgets.policy(for: "call.download", in: Flows.call) == RetryPolicy(maxAttempts: 20, base: .seconds(5), cap: .seconds(600)))
        #expect(budgets.policy(for: "call.transcribe", in: Flows.call) == Flows.call.retry)
        #expect(
            Flows.entry(ofKind: "chat.generate")?.setting == "RETRY_CHAT"
                && Flows.entry(ofKind: "conversation.triage")?.setting == "RETRY_BOOKING")
        #expect(Flows.entry(ofKind: "noop") == nil && Flows.entry(ofKind: "triage.advance") == nil)
        // The catalogue applies them: a consumer's registry, not the process environment.
        let registry = Catalogue.registry(budgets: budgets)
        #expect(registry["noop"]?.retry == Catalogue.registry()["noop"]?.retry)
    }

    /// A test sets budgets by value; the process environment is never read for them.
    @Test func theProcessEnvironmentIsNotReadForBudgets() throws {
        #expect(try Flows.chat.request(["x": 1], dedupe: nil).maxAttempts == Flows.chat.retry.maxAttempts)
    }
}
