import Foundation
import Testing

@testable import Producer

@Suite struct SvixVerifierTests {
    // The example published in Svix's documentation ("Verifying payloads manually").
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    let timestamp = "1614265330"
    let body = Array(#"{"test": 2432232314}"#.utf8)
    static let mac = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    let signature = "v1,\(mac)"

    @Test func acceptsTheDocumentedExample() throws {
        try SvixVerifier(secret: secret).verify(
            SvixHeaders(id: id, timestamp: timestamp, signature: signature), body: body, now: 1_614_265_330)
    }

    @Test func acceptsWhenAnyOfSeveralSignaturesMatches() throws {
        let header = "v1,bm9wZQ== v2,whatever \(signature) v1,AAAA"
        try SvixVerifier(secret: secret).verify(
            SvixHeaders(id: id, timestamp: timestamp, signature: header), body: body, now: 1_614_265_330)
    }

    /// Empty entries, entries without a version or a signature, and the right signature under
    /// another version or glued to its neighbour never count; the right one anywhere else does.
    @Test(arguments: [
        ("  v1, v1 ,\(mac) v1,\(mac)  ", true),
        ("v1,\(mac) ", true),
        (" v1,\(mac)", true),
        ("v2,\(mac)", false),
        ("v1,,\(mac)", false),
        ("v1,\(mac),v1,\(mac)", false),
        ("v1,\(mac)v1,AAAA", false),
        ("v1", false),
        ("v1,", false),
        ("", false),
        ("   ", false),
    ])
    func readsTheSignatureHeaderEntryByEntry(header: String, accepted: Bool) {
        let verifier = try! SvixVerifier(secret: secret)
        let headers = SvixHeaders(id: id, timestamp: timestamp, signature: header)
        if accepted {
            #expect(throws: Never.self) { try verifier.verify(headers, body: body, now: 1_614_265_330) }
        } else {
            #expect(throws: WebhookRejection.badSignature) { try verifier.verify(headers, body: body, now: 1_614_265_330) }
        }
    }

    @Test(arguments: [-300, 300])
    func toleranceEdgesAreAccepted(_ skew: Int) throws {
        try SvixVerifier(secret: secret).verify(
            SvixHeaders(id: id, timestamp: timestamp, signature: signature), body: body, now: 1_614_265_330 + skew)
    }

    @Test(arguments: [-301, 301, 86_400])
    func beyondTheToleranceIsStale(_ skew: Int) throws {
        #expect(throws: WebhookRejection.staleTimestamp(secondsOff: -skew)) {
            try SvixVerifier(secret: secret).verify(
                SvixHeaders(id: id, timestamp: timestamp, signature: signature), body: body, now: 1_614_265_330 + skew)
        }
    }

    @Test func tamperedBodyIdOrSecretFail() throws {
        let verifier = try SvixVerifier(secret: secret)
        #expect(throws: WebhookRejection.badSignature) {
            try verifier.verify(
                SvixHeaders(id: id, timestamp: timestamp, signature: signature), body: Array(#"{"test": 2432232315}"#.utf8),
                now: 1_614_265_330)
        }
        #expect(throws: WebhookRejection.badSignature) {
            try verifier.verify(SvixHeaders(id: "msg_other", timestamp: timestamp, signature: signature), body: body, now: 1_614_265_330)
        }
        #expect(throws: WebhookRejection.badSignature) {
            try SvixVerifier(secret: "whsec_" + Data("another key".utf8).base64EncodedString())
                .verify(SvixHeaders(id: id, timestamp: timestamp, signature: signature), body: body, now: 1_614_265_330)
        }
    }

    @Test func missingOrMalformedHeaders() throws {
        let verifier = try SvixVerifier(secret: secret)
        #expect(throws: WebhookRejection.missingHeader("svix-id")) {
            try verifier.verify(SvixHeaders(id: nil, timestamp: timestamp, signature: signature), body: body)
        }
        #expect(throws: WebhookRejection.missingHeader("svix-signature")) {
            try verifier.verify(SvixHeaders(id: id, timestamp: timestamp, signature: nil), body: body)
        }
        #expect(throws: WebhookRejection.malformedHeader("svix-timestamp")) {
            try verifier.verify(SvixHeaders(id: id, timestamp: "soon", signature: signature), body: body)
        }
        #expect(throws: WebhookRejection.badSignature) {
            try verifier.verify(SvixHeaders(id: id, timestamp: timestamp, signature: "v1,not base64!"), body: body, now: 1_614_265_330)
        }
    }

    @Test func theStandardWebhooksNamesOfAWhiteLabelledSvixAreAccepted() throws {
        let whiteLabelled = ["webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature]
        let headers = SvixHeaders { whiteLabelled[$0] }
        #expect(headers == SvixHeaders(id: id, timestamp: timestamp, signature: signature, prefix: "webhook"))
        try SvixVerifier(secret: secret).verify(headers, body: body, now: 1_614_265_330)
        // Svix's own names win when both sets are there; a set that is incomplete is named as such.
        let both = whiteLabelled.merging(["svix-id": "msg_other", "svix-timestamp": timestamp, "svix-signature": signature]) { $1 }
        #expect(SvixHeaders { both[$0] }.id == "msg_other")
        let partial = ["webhook-id": id, "webhook-timestamp": timestamp]
        #expect(throws: WebhookRejection.missingHeader("webhook-signature")) {
            try SvixVerifier(secret: secret).verify(SvixHeaders { partial[$0] }, body: body, now: 1_614_265_330)
        }
    }

    /// Any number a header can carry is refused as stale or malformed, never a trap.
    @Test(arguments: [
        "-9223372036854775808", "9223372036854775807", "-9223372036854775807", "9223372036854775808", "+1614265330", " 1614265330",
    ])
    func hostileTimestampsAreRefusedWithoutTrapping(_ hostile: String) throws {
        let verifier = try SvixVerifier(secret: secret)
        for now in [Int.min, -1, 0, 1_614_265_330, Int.max] {
            do {
                try verifier.verify(SvixHeaders(id: id, timestamp: hostile, signature: signature), body: body, now: now)
                #expect(hostile == "+1614265330" && now == 1_614_265_330, "accepted \(hostile) at \(now)")
            } catch {
                #expect(
                    error == .badSignature || error == .malformedHeader("svix-timestamp")
                        || { if case .staleTimestamp = error { true } else { false } }())
            }
            #expect(throws: WebhookRejection.self) {
                try ChatwootVerifier(secret: "s").verify(signature: "sha256=00", timestamp: hostile, body: body, now: now)
            }
        }
    }

    @Test func aBadSecretIsAConfigurationErrorNamingTheVariable() {
        do {
            _ = try SvixVerifier(secret: "whsec_***not base64***")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("GUESTY_WEBHOOK_SECRET"))
            #expect(!"\(error)".contains("not base64"))
        }
    }
}

@Suite struct ChatwootAndAircallTests {
    let body = Array(#"{"event":"message_created","id":118}"#.utf8)
    // HMAC-SHA256("chatwoot-secret", "1700000000.{body}") computed with Python's hmac module.
    let signature = "sha256=c3b72ab8b4bdc2b62fa916e508dcc91c993a36938cc4040bb857c35707a47e36"

    @Test func chatwootSignatureKnownAnswer() throws {
        try ChatwootVerifier(secret: "chatwoot-secret").verify(
            signature: signature, timestamp: "1700000000", body: body, now: 1_700_000_000)
        try ChatwootVerifier(secret: "chatwoot-secret").verify(
            signature: signature.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="),
            timestamp: "1700000000", body: body, now: 1_700_000_299)
    }

    @Test func chatwootRejections() {
        let verifier = ChatwootVerifier(secret: "chatwoot-secret")
        #expect(throws: WebhookRejection.missingHeader("X-Chatwoot-Signature")) {
            try verifier.verify(signature: nil, timestamp: "1700000000", body: body)
        }
        #expect(throws: WebhookRejection.malformedHeader("X-Chatwoot-Signature")) {
            try verifier.verify(signature: "md5=abc", timestamp: "1700000000", body: body, now: 1_700_000_000)
        }
        #expect(throws: WebhookRejection.staleTimestamp(secondsOff: -301)) {
            try verifier.verify(signature: signature, timestamp: "1700000000", body: body, now: 1_700_000_301)
        }
        #expect(throws: WebhookRejection.badSignature) {
            try verifier.verify(signature: signature, timestamp: "1700000001", body: body, now: 1_700_000_000)
        }
        #expect(throws: WebhookRejection.badSignature) {
            try ChatwootVerifier(secret: "other").verify(signature: signature, timestamp: "1700000000", body: body, now: 1_700_000_000)
        }
    }

    /// An account webhook and an agent bot sign with secrets of their own: either is taken, nothing else.
    @Test func eitherOfChatwootsTwoSecretsSigns() throws {
        let both = ChatwootVerifier(secrets: ["account-webhook-secret", "chatwoot-secret"])
        try both.verify(signature: signature, timestamp: "1700000000", body: body, now: 1_700_000_000)
        try ChatwootVerifier(secrets: ["chatwoot-secret", "account-webhook-secret"]).verify(
            signature: signature, timestamp: "1700000000", body: body, now: 1_700_000_000)
        #expect(throws: WebhookRejection.badSignature) {
            try ChatwootVerifier(secrets: ["account-webhook-secret", "bot-secret"]).verify(
                signature: signature, timestamp: "1700000000", body: body, now: 1_700_000_000)
        }
    }

    @Test func aircallTokenIsComparedExactly() throws {
        let check = AircallTokenCheck(token: "45XXYYZZa08")
        try check.verify(bodyToken: "45XXYYZZa08")
        #expect(throws: WebhookRejection.badToken) { try check.verify(bodyToken: "45XXYYZZa09") }
        #expect(throws: WebhookRejection.badToken) { try check.verify(bodyToken: "45XXYYZZa0") }
        #expect(throws: WebhookRejection.badToken) { try check.verify(bodyToken: nil) }
    }
}
