import Foundation
import HTTPTypes
import Hummingbird
import TestSupport
import Testing

@testable import Services

/// The parts of a multipart body: each part's headers (lowercased names) and bytes.
func multipartParts(_ body: [UInt8], contentType: String) -> [(headers: [String: String], body: [UInt8])] {
    guard let boundary = contentType.components(separatedBy: "boundary=").last else { return [] }
    let text = String(decoding: body, as: UTF8.self)
    var parts: [(headers: [String: String], body: [UInt8])] = []
    for chunk in text.components(separatedBy: "--\(boundary)").dropFirst() where !chunk.hasPrefix("--") {
        guard let split = chunk.range(of: "\r\n\r\n") else { continue }
        var headers: [String: String] = [:]
        for line in chunk[..<split.lowerBound].components(separatedBy: "\r\n") where line.contains(":") {
            let pair = line.split(separator: ":", maxSplits: 1)
            headers[pair[0].lowercased().trimmingCharacters(in: .whitespaces)] = pair[1].trimmingCharacters(in: .whitespaces)
        }
        var content = Array(chunk[split.upperBound...].utf8)
        if content.suffix(2) == [13, 10] { content.removeLast(2) }
        parts.append((headers, content))
    }
    return parts
}

@Suite struct ChatwootClientTests {
    static let created =
        #"{"id": 901, "content": "hello", "account_id": 1, "inbox_id": 1, "conversation_id": 10, "message_type": 1, "created_at": 1700000000, "private": false, "status": "sent", "source_id": null, "content_type": "text", "content_attributes": {}, "sender_type": "AgentBot", "sender_id": 3}"#

    @Test func aReplyAndAPrivateNoteAreMessagesWithTheTokenHeader() async throws {
        let fake = try await FakeService { received in
            guard received.headers["api_access_token"] == "cw-token" else {
                return FakeService.answer(.unauthorized, #"{"error":"Invalid token"}"#)
            }
            guard received.path == "/api/v1/accounts/1/conversations/10/messages" else { return FakeService.answer(.notFound) }
            return FakeService.answer(.ok, Self.created, headers: [.contentType: "application/json"])
        }
        let client = ChatwootClient(baseURL: fake.url + "/", apiToken: "cw-token", http: HTTPClient())
        let reply = try await client.postMessage(account: 1, conversation: 10, content: "The pool is heated to 28 °C.")
        _ = try await client.postMessage(account: 1, conversation: 10, content: "Automatic answer failed: upstream 503", isPrivate: true)
        #expect(reply.id == 901)
        let bodies = fake.requests.map { jsonFields($0.body) }
        #expect(bodies[0]["content"] as? String == "The pool is heated to 28 °C." && bodies[0]["message_type"] as? String == "outgoing")
        #expect(bodies[0]["private"] as? Bool == false && bodies[1]["private"] as? Bool == true)
        #expect(fake.requests.allSatisfy { $0.method == "POST" && $0.headers["content-type"] == "application/json" })
        let wrongToken = ChatwootClient(baseURL: fake.url, apiToken: "nope", http: HTTPClient())
        await #expect { try await wrongToken.postMessage(account: 1, conversation: 10, content: "x") } throws: {
            ($0 as? HTTPFailure)?.status == 401 && ($0 as? HTTPFailure)?.isRetryable == false
        }
    }

    @Test func audioGoesAsAnAttachmentsPartWithItsText() async throws {
        let fake = try await FakeService { _ in FakeService.answer(.ok, Self.created) }
        let audio: [UInt8] = Array("OggS fake opus bytes".utf8)
        _ = try await ChatwootClient(baseURL: fake.url, apiToken: "t", http: HTTPClient())
            .postAudio(
                account: 1, conversation: 10, content: "Here is your answer", audio: audio, filename: "answer.ogg", contentType: "audio/ogg"
            )
        let received = try #require(fake.requests.first)
        let contentType = try #require(received.headers["content-type"])
        #expect(contentType.hasPrefix("multipart/form-data; boundary="))
        let parts = multipartParts(received.body, contentType: contentType)
        func part(_ name: String) -> (headers: [String: String], body: [UInt8])? {
            parts.first { $0.headers["content-disposition"]?.contains("name=\"\(name)\"") == true }
        }
        #expect(part("content").map { String(decoding: $0.body, as: UTF8.self) } == "Here is your answer")
        #expect(part("message_type").map { String(decoding: $0.body, as: UTF8.self) } == "outgoing")
        let file = try #require(part("attachments[]"))
        #expect(file.headers["content-disposition"]?.contains("filename=\"answer.ogg\"") == true)
        #expect(file.headers["content-type"] == "audio/ogg" && file.body == audio)
    }

    @Test func addingALabelKeepsTheAgentsOwn() async throws {
        let labels = LockedValue(["vip", "pre-stay"])
        let fake = try await FakeService { received in
            if received.method == "POST" {
                labels.set(jsonFields(received.body)["labels"] as? [String] ?? [])
            }
            let list = labels.value.map { "\"\($0)\"" }.joined(separator: ",")
            return FakeService.answer(.ok, #"{"payload": [\#(list)]}"#)
        }
        let client = ChatwootClient(baseURL: fake.url, apiToken: "t", http: HTTPClient())
        let result = try await client.addLabels(account: 1, conversation: 10, ["during-stay"], removing: ["pre-stay"])
        #expect(result == ["vip", "during-stay"] && labels.value == ["vip", "during-stay"])
        #expect(fake.requests.map(\.method) == ["GET", "POST"])
        _ = try await client.addLabels(account: 1, conversation: 10, ["vip"])
        #expect(fake.requests.count == 3, "nothing to change: no write")
    }

    @Test func assigningATeamSendsOnlyTheTeam() async throws {
        let fake = try await FakeService { _ in FakeService.answer(.ok, #"{"id": 5, "name": "Front desk"}"#) }
        try await ChatwootClient(baseURL: fake.url, apiToken: "t", http: HTTPClient()).assignTeam(account: 2, conversation: 33, teamID: 5)
        let received = try #require(fake.requests.first)
        #expect(received.path == "/api/v1/accounts/2/conversations/33/assignments")
        #expect(
            jsonFields(received.body).count == 1 && jsonFields(received.body)["team_id"] as? Int == 5,
            "an assignee_id would override the team")
    }

    /// Chatwoot answers `null` for a team it does not know, and clears the conversation's team.
    @Test func aTeamChatwootDoesNotKnowIsAnError() async throws {
        let fake = try await FakeService { _ in FakeService.answer(.ok, "null") }
        await #expect {
            try await ChatwootClient(baseURL: fake.url, apiToken: "t", http: HTTPClient()).assignTeam(
                account: 2, conversation: 33, teamID: 99)
        } throws: { error in (error as? HTTPFailure)?.isRetryable == false && "\(error)".contains("TRIAGE_TEAMS") }
    }

    /// A history message is public only when Chatwoot says `"private": false`; any other value,
    /// or none, keeps it out of what a guest's answer is built from.
    @Test func aHistoryMessageIsPublicOnlyWhenPrivateIsFalse() async throws {
        let fake = try await FakeService { _ in
            FakeService.answer(
                .ok,
                #"{"payload": [{"id": 1, "content": "a", "message_type": 0, "private": false}, {"id": 2, "content": "b", "message_type": 0, "private": true}, {"id": 3, "content": "c", "message_type": 1, "private": "true"}, {"id": 4, "content": "d", "message_type": 1, "private": 1}, {"id": 5, "content": "e", "message_type": 1, "private": 0}, {"id": 6, "content": "f", "message_type": 1, "private": null}, {"id": 7, "content": "g", "message_type": 1}, {"id": 8, "content": "h", "message_type": 1, "private": "false"}]}"#
            )
        }
        let messages = try await ChatwootClient(baseURL: fake.url, apiToken: "t", http: HTTPClient()).messages(account: 1, conversation: 10)
        #expect(messages.map(\.id) == Array(1...8))
        #expect(messages.filter { !$0.isPrivate }.map(\.id) == [1])
    }

    /// What the bot says and does goes with the bot's token; what is read, with the user's.
    @Test func theBotsTokenForWritesTheUsersForReads() async throws {
        let fake = try await FakeService { received in
            received.method == "GET"
                ? FakeService.answer(.ok, #"{"id": 10, "status": "pending", "meta": {"assignee": null, "team": {"id": 4}}}"#)
                : FakeService.answer(.ok, #"{"id": 9001, "content": "hi", "private": false}"#)
        }
        let client = ChatwootClient(baseURL: fake.url, apiToken: "user-token", botToken: "bot-token", http: HTTPClient())
        let state = try await client.conversationState(account: 1, conversation: 10)
        #expect(state == .init(status: "pending", assigneeID: nil, teamID: 4))
        _ = try await client.postMessage(account: 1, conversation: 10, content: "hi")
        try await client.toggleStatus(account: 1, conversation: 10, to: "open")
        #expect(fake.requests.map { $0.headers["api_access_token"] ?? "" } == ["user-token", "bot-token", "bot-token"])
        #expect(
            fake.requests.last?.path == "/api/v1/accounts/1/conversations/10/toggle_status"
                && jsonFields(fake.requests.last?.body ?? [])["status"] as? String == "open")
    }
}

@Suite struct ChatCompletionsClientTests {
    static func answer(_ content: String) -> String {
        let quoted = String(decoding: try! JSONSerialization.data(withJSONObject: [content], options: [.fragmentsAllowed]), as: UTF8.self)
            .dropFirst().dropLast()
        return
            #"{"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "qwen/qwen3-32b", "choices": [{"index": 0, "message": {"role": "assistant", "content": \#(quoted), "reasoning": "internal"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150, "queue_time": 0.01}, "x_groq": {"id": "req_1"}}"#
    }

    @Test func sendsTheConfiguredModelAndReturnsOnlyTheAnswer() async throws {
        let fake = try await FakeService { received in
            guard received.path == "/openai/v1/chat/completions", received.headers["authorization"] == "Bearer gsk_test" else {
                return FakeService.answer(.notFound, #"{"error":{"message":"Unknown request URL"}}"#)
            }
            return FakeService.answer(
                .ok, Self.answer("<think>The guest asks about the pool. Check context.</think>\n\nYes, the pool is heated."))
        }
        let client = ChatCompletionsClient(
            baseURL: fake.url + "/openai/v1", apiKey: "gsk_test", model: "qwen/qwen3-32b", http: HTTPClient())
        let completion = try await client.complete(
            [.system("You answer guests."), .user("Is the pool heated?")], temperature: 0.2, maxTokens: 300)
        #expect(completion.text == "Yes, the pool is heated." && completion.promptTokens == 120 && completion.completionTokens == 30)
        let body = jsonFields(try #require(fake.requests.first).body)
        #expect(body["model"] as? String == "qwen/qwen3-32b" && body["max_tokens"] as? Int == 300 && body["stream"] as? Bool == false)
        let messages = try #require(body["messages"] as? [[String: String]])
        #expect(messages == [["role": "system", "content": "You answer guests."], ["role": "user", "content": "Is the pool heated?"]])
    }

    @Test func reasoningNeverReachesAGuest() {
        #expect(ChatCompletionsClient.withoutReasoning("<think>a</think>B<think>c</think> D") == "B D")
        #expect(ChatCompletionsClient.withoutReasoning("Answer<think>unfinished thought") == "Answer")
        #expect(ChatCompletionsClient.withoutReasoning("plain") == "plain")
    }

    @Test func aDecommissionedModelIsPermanentAndARateLimitIsRetryableAfterItsDelay() async throws {
        let fake = try await FakeService { received in
            if jsonFields(received.body)["model"] as? String == "deepseek-r1-distill-qwen-32b" {
                return FakeService.answer(
                    .badRequest,
                    #"{"error":{"message":"The model `deepseek-r1-distill-qwen-32b` has been decommissioned and is no longer supported.","type":"invalid_request_error","code":"model_decommissioned"}}"#
                )
            }
            return FakeService.answer(
                .tooManyRequests,
                #"{"error":{"message":"Rate limit reached for model. Please try again in 5.289s.","type":"tokens","code":"rate_limit_exceeded"}}"#,
                headers: [HTTPField.Name("retry-after")!: "6", HTTPField.Name("x-ratelimit-reset-tokens")!: "5.289s"])
        }
        let old = ChatCompletionsClient(baseURL: fake.url, apiKey: "k", model: "deepseek-r1-distill-qwen-32b", http: HTTPClient())
        await #expect { try await old.complete([.user("hi")]) } throws: {
            ($0 as? HTTPFailure)?.isRetryable == false && "\($0)".contains("model_decommissioned")
        }
        let busy = ChatCompletionsClient(baseURL: fake.url, apiKey: "k", model: "qwen/qwen3-32b", http: HTTPClient())
        await #expect { try await busy.complete([.user("hi")]) } throws: {
            ($0 as? HTTPFailure)?.isRetryable == true && ($0 as? HTTPFailure)?.retryAfter == .seconds(6)
        }
    }

    @Test func anAnswerWithoutTextIsAContractFailure() async throws {
        let fake = try await FakeService { _ in FakeService.answer(.ok, Self.answer("<think>only thinking</think>")) }
        let client = ChatCompletionsClient(baseURL: fake.url, apiKey: "k", model: "m", http: HTTPClient())
        await #expect { try await client.complete([.user("hi")]) } throws: { ($0 as? HTTPFailure)?.kind == .unexpectedAnswer }
    }
}

@Suite struct EmbeddingsClientTests {
    static func base64(_ values: [Float]) -> String {
        var bytes: [UInt8] = []
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        return Data(bytes).base64EncodedString()
    }

    @Test(arguments: [EmbeddingsClient.Encoding.float, .base64])
    func vectorsComeBackInInputOrderInEitherEncoding(_ encoding: EmbeddingsClient.Encoding) async throws {
        let fake = try await FakeService { received in
            let body = jsonFields(received.body)
            let inputs = body["input"] as? [String] ?? []
            let base64 = body["encoding_format"] as? String == "base64"
            // Listed in reverse, as a service may: the index says which input each is for.
            let items = inputs.indices.reversed().map { index -> String in
                let vector: [Float] = [Float(index), 0.5, -1.25]
                let encoded = base64 ? "\"\(Self.base64(vector))\"" : "[\(vector.map { "\($0)" }.joined(separator: ","))]"
                return #"{"object": "embedding", "index": \#(index), "embedding": \#(encoded)}"#
            }
            return FakeService.answer(
                .ok,
                #"{"object": "list", "data": [\#(items.joined(separator: ","))], "model": "m", "usage": {"prompt_tokens": 8, "total_tokens": 8}}"#
            )
        }
        let client = EmbeddingsClient(
            baseURL: fake.url + "/v1", apiKey: "sk-test", model: "text-embedding-3-small", http: HTTPClient(), encoding: encoding)
        let vectors = try await client.embed(["first", "second", "third"])
        #expect(vectors == [[0, 0.5, -1.25], [1, 0.5, -1.25], [2, 0.5, -1.25]])
        let received = try #require(fake.requests.first)
        #expect(received.path == "/v1/embeddings" && received.headers["authorization"] == "Bearer sk-test")
        #expect(jsonFields(received.body)["model"] as? String == "text-embedding-3-small")
        #expect(jsonFields(received.body)["encoding_format"] as? String == encoding.rawValue)
    }

    @Test func aShortAnswerIsAContractFailure() async throws {
        let fake = try await FakeService { _ in
            FakeService.answer(
                .ok, #"{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [1, 2]}], "model": "m"}"#)
        }
        let client = EmbeddingsClient(baseURL: fake.url, apiKey: nil, model: "m", http: HTTPClient())
        await #expect { try await client.embed(["a", "b"]) } throws: { ($0 as? HTTPFailure)?.kind == .unexpectedAnswer }
        #expect(fake.requests.first?.headers["authorization"] == nil, "no key, no header (a local embeddings server)")
    }
}
