import Blobs
import Foundation
import Redis
import TestSupport
import Testing

/// `POST /voice`: the audio lands in the blob store, whole, and the job carries only its reference.
@Suite struct VoiceUploadTests {
    static let bearer = ("Authorization", "Bearer \(ProducerHarness.voiceToken)")
    static let audio: [UInt8] = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }

    func blobFiles(_ h: ProducerHarness) -> [URL] {
        let enumerator = FileManager.default.enumerator(at: h.blobs, includingPropertiesForKeys: nil)
        return (enumerator?.allObjects as? [URL] ?? []).filter { !$0.hasDirectoryPath && $0.pathExtension != "" }
    }

    @Test func aRawUploadIsStoredAndReferenced() async throws {
        let h = try await ProducerHarness()
        let reply = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=3&conversation_id=44&caption=from%20the%20lobby",
            headers: [Self.bearer, ("Content-Type", "audio/ogg")], body: Self.audio, chunked: true)
        #expect(reply.status == 202, "\(reply.text)")
        let entry = try #require(try await h.entries("transcribe").first)
        #expect(entry["kind"] == "voice.transcribe")
        let payload = try ProducerHarness.payload(entry)
        #expect(payload["account_id"] as? Int == 3 && payload["conversation_id"] as? Int == 44)
        #expect(payload["caption"] as? String == "from the lobby")
        let audio = try #require(payload["audio"] as? [String: Any])
        let reference = try #require(audio["blob"] as? String)
        #expect(audio["content_type"] as? String == "audio/ogg" && audio["byte_count"] as? Int == Self.audio.count)
        #expect(reference.hasPrefix("file://" + h.blobs.standardizedFileURL.path))
        let stored = try Data(contentsOf: URL(fileURLWithPath: String(reference.dropFirst("file://".count))))
        #expect(Array(stored) == Self.audio)
        #expect(entry["payload"]!.utf8.count < 1000, "audio never sits in Redis")
    }

    @Test func aMultipartUploadIsStoredAndReferenced() async throws {
        let h = try await ProducerHarness()
        let boundary = "----switchboard\(UUID().uuidString)"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"account_id\"\r\n\r\n7\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"conversation_id\"\r\n\r\n8\r\n".utf8)
        body += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"note.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\n"
                .utf8)
        body += Self.audio + Array("\r\n--\(boundary)--\r\n".utf8)
        let reply = try await LoopbackHTTP.send(
            port: h.port, path: "/voice",
            headers: [Self.bearer, ("Content-Type", "multipart/form-data; boundary=\(boundary)")], body: body)
        #expect(reply.status == 202, "\(reply.text)")
        let payload = try ProducerHarness.payload(try #require(try await h.entries("transcribe").first))
        #expect(payload["account_id"] as? Int == 7 && payload["conversation_id"] as? Int == 8)
        let reference = try #require((payload["audio"] as? [String: Any])?["blob"] as? String)
        #expect(reference.hasSuffix(".mp3"))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: String(reference.dropFirst("file://".count))))) == Self.audio)
    }

    @Test func refusedUploadsLeaveNoJobAndNoBlob() async throws {
        let h = try await ProducerHarness()
        let noToken = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1&conversation_id=2",
            headers: [("Content-Type", "audio/ogg")], body: Self.audio)
        let wrongToken = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1&conversation_id=2",
            headers: [("Authorization", "Bearer nope"), ("Content-Type", "audio/ogg")], body: Self.audio)
        let noConversation = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1",
            headers: [Self.bearer, ("Content-Type", "audio/ogg")], body: Self.audio)
        let video = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1&conversation_id=2",
            headers: [Self.bearer, ("Content-Type", "video/mp4")], body: Self.audio)
        let tooBig = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1&conversation_id=2",
            headers: [Self.bearer, ("Content-Type", "audio/ogg")], body: Array(repeating: 1, count: 300 * 1024), chunked: true)
        let empty = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1&conversation_id=2",
            headers: [Self.bearer, ("Content-Type", "audio/ogg")], body: [])
        #expect(noToken.status == 401 && wrongToken.status == 401)
        #expect(noConversation.status == 400 && ProducerHarness.json(noConversation)["field"] as? String == "conversation_id")
        #expect(video.status == 415)
        #expect(tooBig.status == 413)
        #expect(empty.status == 400)
        #expect(try await h.length("transcribe") == 0)
        #expect(blobFiles(h).isEmpty)
        let leftovers = (FileManager.default.enumerator(at: h.blobs, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? [])
            .filter { $0.lastPathComponent.hasSuffix(".part") }
        #expect(leftovers.isEmpty, "no half-written blob stays behind")
    }

    @Test func anIdempotencyKeyMakesARepeatedUploadOneJobAndOneBlob() async throws {
        let h = try await ProducerHarness()
        let headers = [Self.bearer, ("Content-Type", "audio/webm"), ("Idempotency-Key", "upload-77")]
        let first = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1&conversation_id=2", headers: headers, body: Self.audio)
        let again = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1&conversation_id=2", headers: headers, body: Self.audio)
        #expect(first.status == 202 && again.status == 200)
        #expect(ProducerHarness.json(first)["job_id"] as? String == ProducerHarness.json(again)["job_id"] as? String)
        #expect(try await h.length("transcribe") == 1)
        #expect(blobFiles(h).count == 1)
    }

    @Test func anUploadGoesToAnS3BucketAndABucketThatCannotTakeItIsA503() async throws {
        let down = LockedValue(false)
        let s3 = try await FakeS3(bucket: "media", accessKeyID: "AK", secret: "sk") { _ in
            down.value ? FakeService.answer(.serviceUnavailable, "<Error><Code>ServiceUnavailable</Code></Error>") : nil
        }
        let h = try await ProducerHarness { configuration in
            configuration.blobStore = "s3://media/switchboard"
            configuration.blobS3 = S3Settings(endpoint: s3.url, accessKeyID: "AK", secretAccessKey: "sk")
        }
        let reply = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=3&conversation_id=44",
            headers: [Self.bearer, ("Content-Type", "audio/ogg")], body: Self.audio, chunked: true)
        #expect(reply.status == 202, "\(reply.text)")
        let payload = try ProducerHarness.payload(try #require(try await h.entries("transcribe").first))
        let reference = try #require((payload["audio"] as? [String: Any])?["blob"] as? String)
        #expect(reference.hasPrefix("s3://media/switchboard/voice/") && reference.hasSuffix(".ogg"))
        #expect(s3.objects.value[String(reference.dropFirst("s3://media/".count))]?.body == Self.audio)
        down.set(true)
        let refused = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=3&conversation_id=44",
            headers: [Self.bearer, ("Content-Type", "audio/ogg")], body: Self.audio)
        #expect(refused.status == 503 && refused.headers["retry-after"] != nil, "the sender keeps the audio and retries")
        #expect(try await h.length("transcribe") == 1, "no job for audio that was not stored")
    }

    /// Redis stalls past the command timeout, then runs the enqueue it was sent. Refused at once,
    /// the sender got a 503, but the job exists — so its blob must too, and the sender's retry with
    /// the same Idempotency-Key must be answered with that job, not lose the message. Waiting for
    /// Redis, the producer's own next try finds the job its first one made and answers 202 with it.
    @Test(arguments: [false, true])
    func anUploadWhoseEnqueueTimedOutKeepsItsBlobAndItsRetrySucceeds(waitingForRedis: Bool) async throws {
        let h = try await ProducerHarness(commandTimeout: .milliseconds(300)) { $0.redisWait = waitingForRedis ? .seconds(10) : .zero }
        // One upload first, so Redis knows the enqueue script (a stalled EVALSHA of an unknown
        // script would merely fail afterwards).
        let warm = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1&conversation_id=2",
            headers: [Self.bearer, ("Content-Type", "audio/ogg"), ("Idempotency-Key", "warm")], body: Self.audio)
        #expect(warm.status == 202)
        // Redis busy for 2 s: every other client waits, nothing is refused.
        let stall = h.server.stall(for: .seconds(2))
        // A PING unanswered for half a second is the stall, not a busy machine's slow answer.
        let probe = RedisClient(endpoint: h.server.endpoint, commandTimeout: .milliseconds(500))
        defer { probe.close() }
        #expect(await eventually { (try? await probe.send("PING")) == nil }, "Redis never stalled")
        let headers = [Self.bearer, ("Content-Type", "audio/ogg"), ("Idempotency-Key", "stalled-1")]
        let first = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1&conversation_id=2", headers: headers, body: Self.audio)
        #expect(first.status == (waitingForRedis ? 202 : 503), "\(first.status) \(first.text)")
        _ = try await stall.value
        #expect(try await eventually { try await h.length("transcribe") == 2 }, "Redis ran the enqueue after the stall")
        let stalled = try #require(try await h.entries("transcribe").last)
        let payload = try ProducerHarness.payload(stalled)
        let reference = try #require((payload["audio"] as? [String: Any])?["blob"] as? String)
        #expect(FileManager.default.fileExists(atPath: String(reference.dropFirst("file://".count))), "the job's blob was deleted")
        if waitingForRedis { #expect(ProducerHarness.json(first)["job_id"] as? String == stalled["id"]) }
        let retry = try await LoopbackHTTP.send(
            port: h.port, path: "/voice?account_id=1&conversation_id=2", headers: headers, body: Self.audio)
        #expect(retry.status == 200 && ProducerHarness.json(retry)["job_id"] as? String == stalled["id"])
        #expect(blobFiles(h).count == 2, "the retry's own copy is not kept")
        #expect(try await h.length("transcribe") == 2)
    }
}
