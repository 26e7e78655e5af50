import Foundation
import HTTPTypes
import Hummingbird
import TestSupport
import Testing

@testable import Services

/// The shared HTTP client against real HTTP servers on loopback: what it sends, what it reads
/// back, and how every kind of failure comes out of it.
@Suite struct HTTPClientTests {
    @Test func sendsMethodPathHeadersAndBodyAndReadsTheAnswer() async throws {
        let fake = try await FakeService { _ in
            FakeService.answer(
                .created, #"{"id": 7}"#, headers: [.contentType: "application/json", HTTPField.Name("X-Request-Id")!: "r-1"])
        }
        let client = HTTPClient(connections: 1)
        let body = Array(#"{"content": "héllo"}"#.utf8)
        let response = try await client.send(
            HTTPClient.Request(
                "POST", fake.url + "/api/v1/accounts/1/messages?x=1",
                headers: [("api_access_token", "tok"), ("Content-Type", "application/json")], body: body))
        #expect(response.status == 201 && response.text == #"{"id": 7}"#)
        #expect(response.header("x-request-id") == "r-1" && response.header("Content-Type") == "application/json")
        let received = try #require(fake.requests.first)
        #expect(received.method == "POST" && received.path == "/api/v1/accounts/1/messages" && received.query == "x=1")
        #expect(received.headers["api_access_token"] == "tok" && received.headers["content-type"] == "application/json")
        #expect(received.headers["expect"] == nil, "no 100-continue pause")
        #expect(received.body == body)
    }

    /// libcurl types a body it is not told about as a form, and servers that honour the type
    /// read it as one (moto's S3 stored every upload part empty): every body names a type.
    @Test func aBodyWithoutATypeGoesAsOctetStreamNeverAsAForm() async throws {
        let fake = try await FakeService { _ in FakeService.answer(.ok) }
        let client = HTTPClient(connections: 1)
        for method in ["PUT", "POST", "PATCH"] {
            _ = try await client.send(HTTPClient.Request(method, fake.url + "/part", body: Array("a=1&b=2".utf8)))
        }
        _ = try await client.send(HTTPClient.Request("POST", fake.url + "/empty"))
        _ = try await client.send(
            HTTPClient.Request("PUT", fake.url + "/typed", headers: [("content-type", "text/csv")], body: Array("a,b".utf8)))
        let types = fake.requests.map { $0.headers["content-type"] ?? "none" }
        #expect(
            types == [
                "application/octet-stream", "application/octet-stream", "application/octet-stream", "application/octet-stream", "text/csv",
            ])
        #expect(fake.requests.prefix(3).allSatisfy { $0.text == "a=1&b=2" })
    }

    @Test func reusesItsConnections() async throws {
        let fake = try await FakeService { _ in FakeService.answer(.ok, "ok") }
        let client = HTTPClient(connections: 1)
        for _ in 0..<20 { _ = try await client.sendChecked(HTTPClient.Request("GET", fake.url + "/ping")) }
        #expect(fake.requests.count == 20)
        #expect(Set(fake.requests.map(\.clientPort)).count == 1, "one connection for twenty requests")
    }

    @Test func concurrentCallersShareTheWorkers() async throws {
        let fake = try await FakeService { received in FakeService.answer(.ok, received.query) }
        let client = HTTPClient(connections: 4)
        let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<40 {
                group.addTask { (index, try await client.sendChecked(HTTPClient.Request("GET", fake.url + "/echo?n=\(index)")).text) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(answers.count == 40 && answers.allSatisfy { $0.value == "n=\($0.key)" })
        #expect(Set(fake.requests.map(\.clientPort)).count <= 4)
    }

    @Test func throttlingAndServerErrorsAreRetryableWithTheAdvisedDelay() async throws {
        // Dates are made when the fake answers, so a slow, loaded machine does not eat the delay.
        let fake = try await FakeService { received in
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            let httpDate = formatter.string(from: Date().addingTimeInterval(30))
            let reset = Int(Date().timeIntervalSince1970) + 12
            return switch received.path {
            case "/seconds": FakeService.answer(.tooManyRequests, #"{"error":{"code":"rate_limit_exceeded"}}"#, headers: [.retryAfter: "7"])
            case "/fraction": FakeService.answer(.tooManyRequests, "", headers: [.retryAfter: "5.289"])
            case "/date": FakeService.answer(.serviceUnavailable, "", headers: [.retryAfter: httpDate])
            case "/hetzner": FakeService.answer(.tooManyRequests, "", headers: [HTTPField.Name("RateLimit-Reset")!: String(reset)])
            case "/timeout": FakeService.answer(.requestTimeout)
            default: FakeService.answer(.badGateway, "upstream down")
            }
        }
        let client = HTTPClient()
        func failure(_ path: String) async -> HTTPFailure? {
            do {
                _ = try await client.sendChecked(HTTPClient.Request("POST", fake.url + path, body: [1]))
                return nil
            } catch { return error as? HTTPFailure }
        }
        let seconds = try #require(await failure("/seconds"))
        #expect(seconds.isRetryable && seconds.status == 429 && seconds.retryAfter == .seconds(7))
        #expect(seconds.detail.contains("rate_limit_exceeded"))
        #expect(try #require(await failure("/fraction")).retryAfter == .milliseconds(5289))
        let byDate = try #require(await failure("/date")?.retryAfter)
        #expect(byDate > .seconds(15) && byDate <= .seconds(30))
        let hetzner = try #require(await failure("/hetzner")?.retryAfter)
        #expect(hetzner > .seconds(5) && hetzner <= .seconds(12))
        #expect(try #require(await failure("/timeout")).isRetryable)
        let gateway = try #require(await failure("/other"))
        #expect(gateway.isRetryable && gateway.retryAfter == nil && gateway.description.contains("502"))
    }

    @Test func otherClientErrorsArePermanent() async throws {
        let fake = try await FakeService { received in
            received.path == "/groq"
                ? FakeService.answer(
                    .badRequest,
                    #"{"error":{"message":"The model `deepseek-r1-distill-qwen-32b` has been decommissioned","type":"invalid_request_error","code":"model_decommissioned"}}"#
                )
                : FakeService.answer(.unauthorized, #"{"error": "Invalid token"}"#)
        }
        let client = HTTPClient()
        for path in ["/groq", "/chatwoot"] {
            do {
                _ = try await client.sendChecked(HTTPClient.Request("POST", fake.url + path + "?key=secret"))
                Issue.record("\(path) should have failed")
            } catch let failure as HTTPFailure {
                #expect(!failure.isRetryable)
                #expect(!failure.description.contains("secret"), "the query (where keys may travel) is not in messages")
            }
        }
    }

    @Test func aSlowServiceTimesOutRetryably() async throws {
        let fake = try await FakeService { _ in
            try? await Task.sleep(for: .seconds(5))
            return FakeService.answer(.ok)
        }
        let client = HTTPClient()
        let start = ContinuousClock.now
        await #expect { try await client.send(HTTPClient.Request("GET", fake.url + "/slow", timeout: .milliseconds(300))) } throws: {
            error in
            (error as? HTTPFailure)?.kind == .transport && (error as? HTTPFailure)?.isRetryable == true
        }
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    @Test func anOversizedAnswerIsRefusedWithoutReadingItAll() async throws {
        let fake = try await FakeService { _ in FakeService.answer(.ok, String(repeating: "x", count: 200_000)) }
        let client = HTTPClient()
        await #expect { try await client.send(HTTPClient.Request("GET", fake.url + "/big", maxResponseBytes: 10_000)) } throws: { error in
            (error as? HTTPFailure)?.kind == .responseTooLarge(limit: 10_000) && (error as? HTTPFailure)?.isRetryable == false
        }
        #expect(try await client.send(HTTPClient.Request("GET", fake.url + "/big", maxResponseBytes: 300_000)).body.count == 200_000)
    }

    @Test func nothingListeningIsARetryableTransportFailure() async throws {
        let closed = try ClosedPort()
        await #expect { try await HTTPClient().send(HTTPClient.Request("GET", "http://127.0.0.1:\(closed.port)/")) } throws: { error in
            (error as? HTTPFailure)?.kind == .transport && (error as? HTTPFailure)?.isRetryable == true
        }
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        let fake = try await FakeService { _ in
            try? await Task.sleep(for: .seconds(10))
            return FakeService.answer(.ok)
        }
        let client = HTTPClient(connections: 1)
        let start = ContinuousClock.now
        let call = Task { try await client.send(HTTPClient.Request("GET", fake.url + "/slow", timeout: .seconds(30))) }
        #expect(await eventually { !fake.requests.isEmpty })
        call.cancel()
        await #expect { try await call.value } throws: { ($0 as? HTTPFailure)?.kind == .cancelled }
        #expect(ContinuousClock.now - start < .seconds(5))
        // The worker is free again at once.
        let quick = try await FakeService { _ in FakeService.answer(.ok, "next") }
        #expect(try await client.send(HTTPClient.Request("GET", quick.url + "/")).text == "next")
    }

    @Test func redirectsAreFollowed() async throws {
        let fake = try await FakeService { received in
            received.path == "/short"
                ? FakeService.answer(.found, "", headers: [.location: "/recording.mp3"]) : FakeService.answer(.ok, "ID3…")
        }
        let response = try await HTTPClient().sendChecked(HTTPClient.Request("GET", fake.url + "/short"))
        #expect(response.text == "ID3…" && fake.requests.map(\.path) == ["/short", "/recording.mp3"])
    }

    /// A webhook names the URL the download stage fetches: anything but http(s) — directly or by a
    /// redirect — is refused, permanently, and nothing of the target is read.
    @Test func onlyHTTPAndHTTPSAreFetchedEvenAfterARedirect() async throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-secret-\(UUID().uuidString)")
        try Data("root:x:0:0:the local secret".utf8).write(to: secret)
        defer { try? FileManager.default.removeItem(at: secret) }
        let fake = try await FakeService { _ in FakeService.answer(.found, "", headers: [.location: "file://" + secret.path]) }
        let client = HTTPClient()
        for url in [
            "file://" + secret.path, "FILE://" + secret.path, "gopher://127.0.0.1/", "dict://127.0.0.1:11211/", fake.url + "/to-file",
        ] {
            do {
                let response = try await client.send(HTTPClient.Request("GET", url))
                Issue.record("\(url) was fetched: \(response.status) \(response.text)")
            } catch let failure as HTTPFailure {
                #expect(failure.kind == .refusedURL && !failure.isRetryable, "\(url): \(failure)")
                #expect(!failure.description.contains("the local secret"))
            }
        }
    }

    @Test func hostileRetryAdviceIsBoundedNeverATrap() {
        func advice(_ name: String, _ value: String) -> Duration? {
            RetryAdvice.delay(
                in: HTTPClient.Response(status: 429, headers: [(name, value)], body: []), now: Date(timeIntervalSince1970: 1_700_000_000))
        }
        for value in ["1e300", "inf", "-inf", "99999999999999999999", "-5"] {
            let delay = advice("retry-after", value)
            #expect(delay.map { $0 >= .zero && $0 <= RetryAdvice.longestAdvisedDelay } == true, "\(value) → \(String(describing: delay))")
        }
        #expect(advice("retry-after", "nan") == nil)
        #expect(advice("ratelimit-reset", "nan") == nil)
        #expect(advice("ratelimit-reset", "1e300") == RetryAdvice.longestAdvisedDelay)
        #expect(advice("retry-after", "12") == .seconds(12))
    }

    /// A download hands its body over as it arrives, with a bounded amount waiting: a receiver
    /// slower than the network makes the transfer wait, not the memory grow, and what it receives
    /// is the whole body, in order.
    @Test func aDownloadStreamsItsBodyWithBoundedBuffering() async throws {
        let body = Array((0..<(4 << 10)).map { [UInt8](repeating: UInt8(truncatingIfNeeded: $0 &* 7), count: 1024) }.joined())
        let fake = try await FakeService { received in
            received.path == "/missing"
                ? FakeService.answer(.notFound, "no such recording")
                : Response(status: .ok, headers: [.contentType: "audio/mpeg"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        let client = HTTPClient()
        var received: [UInt8] = []
        var pieces = 0
        let response = try await client.download(HTTPClient.Request("GET", fake.url + "/recording.mp3"), buffer: 256 << 10) { piece in
            pieces += 1
            received += piece
            if pieces % 50 == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(response.status == 200 && response.header("Content-Type") == "audio/mpeg" && response.body.isEmpty)
        let whole = received == body
        #expect(whole)
        #expect(pieces > 10, "handed over in pieces, not whole")
        // An answer outside 2xx is read whole and thrown; a receiver that throws stops the transfer.
        await #expect {
            _ = try await client.download(HTTPClient.Request("GET", fake.url + "/missing")) { _ in Issue.record("no body for a 404") }
        } throws: { ($0 as? HTTPFailure)?.status == 404 && "\($0)".contains("no such recording") }
        struct Enough: Error {}
        var taken = 0
        await #expect(throws: Enough.self) {
            _ = try await client.download(HTTPClient.Request("GET", fake.url + "/recording.mp3"), buffer: 64 << 10) { piece in
                taken += piece.count
                if taken > 512 << 10 { throw Enough() }
            }
        }
        #expect(taken < 2 << 20, "stopped soon after the receiver gave up")
        // The client is still good for the next request.
        #expect(
            try await client.sendChecked(HTTPClient.Request("GET", fake.url + "/recording.mp3", maxResponseBytes: 16 << 20)).body.count
                == body.count)
    }

    @Test func requestsAreDescribedWithoutQueryOrCredentials() {
        #expect(
            Transfer.describe(HTTPClient.Request("POST", "https://user:pw@api.example.com/v1/x?key=k"))
                == "POST https://api.example.com/v1/x")
    }
}
