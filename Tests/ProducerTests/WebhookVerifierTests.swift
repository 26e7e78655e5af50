import Foundation
@testable import Producer
import Testing

@Suite struct DigestTests {
    @Test func sha256KnownAnswers() {
        #expect(Hex.encode(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Hex.encode(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func hmacSHA256RFC4231() {
        // Test case 1 and 2 of RFC 4231.
        #expect(Hex.encode(HMAC.sha256(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(Hex.encode(HMAC.sha256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // A key longer than the block is hashed first (value from Python's hmac).
        #expect(Hex.encode(HMAC.sha256(key: [UInt8](repeating: UInt8(ascii: "k"), count: 100), message: Array("long key".utf8)))
                == "5903eedefe0bba3f15b658715e41d71f1848739bddf19e497e968df5723dcd56")
    }

    @Test func hashingInPiecesEqualsHashingAtOnce() {
        let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let whole = SHA256.hash(message)
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 500, 999, 1000] {
            var hasher = SHA256()
            hasher.update(Array(message[..<split]))
            hasher.update(Array(message[split...]))
            #expect(hasher.finalize() == whole, "split at \(split)")
        }
        // A key's precomputed pads give the same MAC for the parts as for their concatenation.
        let key = HMACKey(Array("Jefe".utf8))
        #expect(key.authenticate(Array("what do ya ".utf8), Array("want for nothing?".utf8))
                == HMAC.sha256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
        #expect(key.authenticate(Array("a".utf8)) == key.authenticate(Array("a".utf8)), "the key is reusable")
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2]))
    }
}

@Suite struct SvixVerifierTests {
    // The example published in Svix's documentation ("Verifying payloads manually").
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    let timestamp = "1614265330"
    let body = Array(#"{"test": 2432232314}"#.utf8)
    let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    @Test func acceptsTheDocumentedExample() throws {
        try SvixVerifier(secret: secret).verify(id: id, timestamp: timestamp, signature: signature, body: body, now: 1_614_265_330)
    }

    @Test func acceptsWhenAnyOfSeveralSignaturesMatches() throws {
        let header = "v1,bm9wZQ== v2,whatever \(signature) v1,AAAA"
        try SvixVerifier(secret: secret).verify(id: id, timestamp: timestamp, signature: header, body: body, now: 1_614_265_330)
    }

    @Test(arguments: [-300, 300])
    func toleranceEdgesAreAccepted(_ skew: Int) throws {
        try SvixVerifier(secret: secret).verify(id: id, timestamp: timestamp, signature: signature, body: body, now: 1_614_265_330 + skew)
    }

    @Test(arguments: [-301, 301, 86_400])
    func beyondTheToleranceIsStale(_ skew: Int) throws {
        #expect(throws: WebhookRejection.staleTimestamp(secondsOff: -skew)) {
            try SvixVerifier(secret: secret).verify(id: id, timestamp: timestamp, signature: signature, body: body, now: 1_614_265_330 + skew)
        }
    }

    @Test func tamperedBodyIdOrSecretFail() throws {
        let verifier = try SvixVerifier(secret: secret)
        #expect(throws: WebhookRejection.badSignature) {
            try verifier.verify(id: id, timestamp: timestamp, signature: signature, body: Array(#"{"test": 2432232315}"#.utf8), now: 1_614_265_330)
        }
        #expect(throws: WebhookRejection.badSignature) {
            try verifier.verify(id: "msg_other", timestamp: timestamp, signature: signature, body: body, now: 1_614_265_330)
        }
        #expect(throws: WebhookRejection.badSignature) {
            try SvixVerifier(secret: "whsec_" + Data("another key".utf8).base64EncodedString())
                .verify(id: id, timestamp: timestamp, signature: signature, body: body, now: 1_614_265_330)
        }
    }

    @Test func missingOrMalformedHeaders() throws {
        let verifier = try SvixVerifier(secret: secret)
        #expect(throws: WebhookRejection.missingHeader("svix-id")) { try verifier.verify(id: nil, timestamp: timestamp, signature: signature, body: body) }
        #expect(throws: WebhookRejection.missingHeader("svix-signature")) { try verifier.verify(id: id, timestamp: timestamp, signature: nil, body: body) }
        #expect(throws: WebhookRejection.malformedHeader("svix-timestamp")) { try verifier.verify(id: id, timestamp: "soon", signature: signature, body: body) }
        #expect(throws: WebhookRejection.badSignature) {
            try verifier.verify(id: id, timestamp: timestamp, signature: "v1,not base64!", body: body, now: 1_614_265_330)
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
        try ChatwootVerifier(secret: "chatwoot-secret").verify(signature: signature, timestamp: "1700000000", body: body, now: 1_700_000_000)
        try ChatwootVerifier(secret: "chatwoot-secret").verify(signature: signature.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="),
                                                               timestamp: "1700000000", body: body, now: 1_700_000_299)
    }

    @Test func chatwootRejections() {
        let verifier = ChatwootVerifier(secret: "chatwoot-secret")
        #expect(throws: WebhookRejection.missingHeader("X-Chatwoot-Signature")) { try verifier.verify(signature: nil, timestamp: "1700000000", body: body) }
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

    @Test func aircallTokenIsComparedExactly() throws {
        let check = AircallTokenCheck(token: "45XXYYZZa08")
        try check.verify(bodyToken: "45XXYYZZa08")
        #expect(throws: WebhookRejection.badToken) { try check.verify(bodyToken: "45XXYYZZa09") }
        #expect(throws: WebhookRejection.badToken) { try check.verify(bodyToken: "45XXYYZZa0") }
        #expect(throws: WebhookRejection.badToken) { try check.verify(bodyToken: nil) }
    }
}
