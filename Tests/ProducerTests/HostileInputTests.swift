import Foundation
import Queue
import TestSupport
import Testing

@testable import Producer

/// What an attacker or a broken sender can put in a delivery: hostile numbers, unauthenticated
/// bodies built to learn the schema, identifiers no conversation has, header sets under other names.
@Suite struct HostileInputTests {
    @Test func extremeTimestampsAre401AndTheProducerGoesOn() async throws {
        let h = try await ProducerHarness()
        for hostile in ["-9223372036854775808", "9223372036854775807", "99999999999999999999"] {
            let body = Fixtures.chatwootMessage()
            let chatwoot = try await h.post(
                "/webhooks/chatwoot", json: body,
                headers: [
                    ("X-Chatwoot-Signature", "sha256=" + String(repeating: "ab", count: 32)), ("X-Chatwoot-Timestamp", hostile),
                ])
            var svix = ProducerHarness.svixHeaders(Fixtures.guestyReservation(), id: "msg_1")
            svix[1].1 = hostile
            let guesty = try await h.post("/webhooks/guesty", json: Fixtures.guestyReservation(), headers: svix)
            #expect(chatwoot.status == 401 && guesty.status == 401, "\(hostile): \(chatwoot.status) \(guesty.status)")
        }
        #expect(try await h.get("/healthz").status == 200)
        #expect(try await h.length("retrieve") == 0)
        #expect(try await h.length("vectorize") == 0)
    }

    @Test func aGuestyDeliveryUnderTheStandardWebhooksNamesIsEnqueued() async throws {
        let h = try await ProducerHarness()
        let body = Fixtures.guestyReservation()
        let headers = SvixSigning.headers(body, id: "msg_whitelabel1", secret: ProducerHarness.guestySecret, prefix: "webhook")
        let reply = try await h.post("/webhooks/guesty", json: body, headers: headers)
        #expect(reply.status == 202, "\(reply.text)")
        #expect(try await h.post("/webhooks/guesty", json: body, headers: headers).status == 200, "its resend is a duplicate")
        let entries = try await h.entries("vectorize")
        #expect(entries.count == 1 && entries.first?["dedupe"] == "guesty:msg_whitelabel1")
        var forged = headers
        forged[2].1 = "v1,AAAA"
        #expect(try await h.post("/webhooks/guesty", json: body, headers: forged).status == 401)
    }

    /// Aircall signs nothing, so its token is checked before anything else is read: a sender
    /// without it gets the same bare 401 whatever it sends, and learns no field name.
    @Test func aircallAuthenticatesBeforeItValidates() async throws {
        let h = try await ProducerHarness()
        for body in [#"{"token":5}"#, #"{"token":null,"data":7}"#, #"{"event":"call.ended","data":{"id":"x"}}"#, "[1,2]", "not json", ""] {
            let reply = try await h.aircall(body)
            #expect(reply.status == 401 && reply.text == "{\"error\":\"unauthorized\"}\n", "\(body) → \(reply.status) \(reply.text)")
        }
        let token = ProducerHarness.aircallToken
        let authentic = try await h.aircall(#"{"token":"\#(token)","event":"call.ended","data":{"id":"x"}}"#)
        #expect(authentic.status == 400 && ProducerHarness.json(authentic)["field"] as? String == "data.id")
        #expect(try await h.length("download") == 0)
    }

    /// The stages fetch what a webhook names; only the web is taken in (and fetched: HTTPClientTests).
    @Test func audioURLsMustBeHTTPOrHTTPS() async throws {
        let h = try await ProducerHarness()
        let call = try await h.aircall(Fixtures.aircall(recording: "file:///etc/passwd"))
        #expect(call.status == 400 && ProducerHarness.json(call)["field"] as? String == "data.recording", "\(call.text)")
        let attachment = Fixtures.audioAttachment.replacingOccurrences(
            of: "https://chat.example.com/rails/active_storage/blobs/voice.ogg", with: "file:///etc/shadow")
        let chat = try await h.chatwoot(Fixtures.chatwootMessage(content: nil, attachments: attachment))
        #expect(chat.status == 400 && ProducerHarness.json(chat)["field"] as? String == "attachments[0].data_url", "\(chat.text)")
        #expect(try await h.length("download") == 0)
        #expect(try await h.length("transcribe") == 0)
    }

    @Test(arguments: [("account", 0), ("account", -3), ("conversation", 0), ("conversation", -10), ("message", 0), ("message", -118)])
    func chatwootIdentifiersMustBePositive(_ which: String, _ value: Int) async throws {
        let h = try await ProducerHarness()
        var body = Fixtures.chatwootMessage()
        switch which {
        case "account": body = body.replacingOccurrences(of: #""account": {"id": 1"#, with: #""account": {"id": \#(value)"#)
        case "conversation": body = body.replacingOccurrences(of: #""conversation": {"id": 10"#, with: #""conversation": {"id": \#(value)"#)
        default: body = body.replacingOccurrences(of: #""id": 118"#, with: #""id": \#(value)"#)
        }
        let reply = try await h.chatwoot(body)
        let field = which == "message" ? "id" : "\(which).id"
        #expect(reply.status == 400 && ProducerHarness.json(reply)["field"] as? String == field, "\(reply.status) \(reply.text)")
        #expect(try await h.length("retrieve") == 0)
    }
}

/// What a client can do to a connection: hold it silent, trickle a body, leave mid-body, break
/// the chunked framing, or send a body the producer has already refused.
@Suite struct HostileClientTests {
    @Test func aRefusalBeforeTheBodyWasReadClosesTheConnectionInsteadOfDrainingIt() async throws {
        let h = try await ProducerHarness()
        // Declared far over the limit: 413 at once, and the connection ends although the body never does.
        let declared = try RawConnection(port: h.port)
        declared.send("POST /webhooks/guesty HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n")
        declared.send([UInt8](repeating: 32, count: 64 * 1024))
        let tooLarge = await declared.readResponse()
        #expect(tooLarge?.status == 413)
        #expect(await declared.closedByPeer(timeout: .seconds(5)), "a refused body is not drained")
        // Unauthenticated upload with an endless chunked body: 401 and the end of the connection.
        let endless = try RawConnection(port: h.port)
        endless.send(
            "POST /voice?account_id=1&conversation_id=2 HTTP/1.1\r\nHost: x\r\nContent-Type: audio/ogg\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer wrong\r\n\r\n"
        )
        endless.send("4000\r\n" + String(repeating: "a", count: 0x4000) + "\r\n")
        #expect(await endless.readResponse()?.status == 401)
        #expect(await endless.closedByPeer(timeout: .seconds(5)))
        #expect(try await h.get("/healthz").status == 200)
    }

    @Test func aClientLeavingMidBodyOrBreakingTheFramingIsA400NotAServerError() async throws {
        let h = try await ProducerHarness()
        let framing = try RawConnection(port: h.port)
        framing.send(
            "POST /webhooks/guesty HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"
        )
        let broken = await framing.readResponse()
        #expect(broken?.status == 400, "\(String(describing: broken?.status))")
        let leaving = try RawConnection(port: h.port)
        leaving.send(
            "POST /webhooks/chatwoot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"event\":")
        leaving.close()
        #expect(await eventually { h.log.count(containing: "body not read to its end") >= 2 })
        #expect(
            h.log.count(containing: "request failed") == 0,
            "nothing is logged as our failure: \(h.log.lines.filter { $0.contains("error") })")
        #expect(try await h.get("/healthz").status == 200)
    }

    @Test func idleConnectionsAreClosedAfterTheIdleTimeout() async throws {
        let h = try await ProducerHarness { $0.idleTimeout = .milliseconds(600) }
        let silent = try RawConnection(port: h.port)
        let kept = try RawConnection(port: h.port)
        kept.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await kept.readResponse()?.status == 200)
        let started = ContinuousClock.now
        #expect(await silent.closedByPeer(timeout: .seconds(10)), "a connection that never sends a byte")
        #expect(await kept.closedByPeer(timeout: .seconds(10)), "a kept-alive connection after its response")
        #expect(ContinuousClock.now - started < .seconds(9))
    }

    @Test func aRequestTrickledSlowerThanTheRequestTimeoutIsCutOff() async throws {
        let h = try await ProducerHarness {
            $0.requestTimeout = .seconds(1); $0.idleTimeout = .seconds(30)
        }
        let slow = try RawConnection(port: h.port)
        slow.send("POST /webhooks/chatwoot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n")
        let started = ContinuousClock.now
        var closed = false
        // One byte every 200 ms resets the idle timer each time; only the request timeout ends it.
        for _ in 0..<60 where !closed {
            if !slow.send(" ") {
                closed = true
            } else {
                closed = await slow.closedByPeer(timeout: .milliseconds(200))
            }
        }
        #expect(closed, "the connection was still open after 12 s of trickling")
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(await eventually { h.log.count(containing: "body not read to its end") == 1 })
    }

    @Test func connectionsAboveTheCapWaitForOneToClose() async throws {
        let h = try await ProducerHarness {
            $0.maxConnections = 4; $0.idleTimeout = .milliseconds(800)
        }
        // Four kept-alive connections, each surely accepted (it has had its answer), fill the cap.
        var holders: [RawConnection] = []
        var firstSent: ContinuousClock.Instant?
        for _ in 0..<4 {
            let holder = try RawConnection(port: h.port)
            firstSent = firstSent ?? .now
            holder.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await holder.readResponse()?.status == 200)
            holders.append(holder)
        }
        // The next request is served only once the idle timeout has freed a place — it waits, it
        // is not refused, and the process never runs out of descriptors. Timed from the first
        // holder's request, before which its idle time cannot have begun: from its answer as read
        // here, a loaded machine (a fresh-clone run: 674 ms) could read that answer late enough to
        // make the wait look short; and from the last holder, the four can take longer to open
        // than the timeout leaves.
        let reply = try await h.get("/healthz")
        #expect(reply.status == 200)
        let waited = ContinuousClock.now - (firstSent ?? .now)
        #expect(waited >= .milliseconds(750), "served \(waited) after the first holder's request, before its idle timeout freed a place")
        for holder in holders { #expect(await holder.closedByPeer(timeout: .seconds(10))) }
    }
}
