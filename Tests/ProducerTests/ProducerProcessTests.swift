import Foundation
import Redis
import TestSupport
import Testing

/// `switchboard producer` as an operator runs it: configuration from the environment and files,
/// metrics, logs without secrets, and a clean exit on SIGTERM.
@Suite struct ProducerProcessTests {
    @Test func servesWithSecretsFromFilesLogsNoSecretAndStopsOnSigterm() async throws {
        let server = try await RedisServer()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-producer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let secretFile = folder.appendingPathComponent("guesty_secret")
        try (ProducerHarness.guestySecret + "\n").write(to: secretFile, atomically: true, encoding: .utf8)
        let emptyFile = folder.appendingPathComponent("voice_token")
        try "\n".write(to: emptyFile, atomically: true, encoding: .utf8)
        let (producer, port) = try await SwitchboardProcess.serving(environment: [
            "GUESTY_WEBHOOK_SECRET_FILE": secretFile.path, "AIRCALL_WEBHOOK_TOKEN": ProducerHarness.aircallToken,
            "BLOB_STORE": "file://" + folder.appendingPathComponent("blobs").path, "LOG_LEVEL": "debug",
            "VOICE_UPLOAD_TOKEN_FILE": emptyFile.path,
        ]) { port in ["producer", "--redis", server.url, "--host", "127.0.0.1", "--port", String(port)] }
        let ready = try #require(await HTTPProbe.get(port: port, path: "/readyz"))
        #expect(ready.status == 200 && ready.body.contains(#""durability":"none: Redis persists nothing"#), "\(ready.body)")
        let body = Fixtures.guestyReservation()
        let headers = ProducerHarness.svixHeaders(body, id: "msg_file_secret")
        let accepted = try await LoopbackHTTP.send(
            port: port, path: "/webhooks/guesty", headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8))
        #expect(accepted.status == 202, "\(accepted.text) \(producer.log)")
        var forged = headers
        forged[2].1 = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        let refused = try await LoopbackHTTP.send(
            port: port, path: "/webhooks/guesty", headers: [("Content-Type", "application/json")] + forged, body: Array(body.utf8))
        #expect(refused.status == 401)
        let upload = try await LoopbackHTTP.send(
            port: port, path: "/voice?account_id=1&conversation_id=2",
            headers: [("Authorization", "Bearer "), ("Content-Type", "audio/ogg")], body: [1, 2, 3])
        #expect(upload.status == 404, "an empty credential file leaves its route unserved, never open")
        _ = try await LoopbackHTTP.send(
            port: port, path: "/webhooks/aircall", headers: [("Content-Type", "application/json")],
            body: Array(Fixtures.aircall(token: "wrong").utf8))
        let metrics = try #require(await HTTPProbe.get(port: port, path: "/metrics"))
        #expect(
            metrics.body.contains(#"switchboard_http_requests_total{route="/webhooks/guesty",status="202"} 1"#),
            "\(metrics.body.prefix(2000))")
        #expect(metrics.body.contains(#"switchboard_ingress_total{source="guesty",outcome="unauthorized"} 1"#))
        producer.signal(SIGTERM)
        #expect(await producer.waitForExit() == 0)
        _ = await producer.outputClosed()
        let log = producer.log
        #expect(log.contains("job enqueued") && log.contains("hb.request.id="))
        for secret in [String(ProducerHarness.guestySecret.dropFirst(6)), ProducerHarness.aircallToken, headers[2].1, forged[2].1, "wrong"]
        {
            #expect(!log.contains(secret), "the log shows no secret, token or signature")
        }
    }

    @Test func aConfigurationErrorExits2NamingTheVariable() async throws {
        let server = try await RedisServer()
        let port = try FreePort.find()
        let badSecret = try await SwitchboardProcess.run(
            ["producer", "--redis", server.url, "--port", String(port)],
            environment: ["GUESTY_WEBHOOK_SECRET": "not-a-svix-secret!"])
        #expect(badSecret.status == 2 && badSecret.output.contains("GUESTY_WEBHOOK_SECRET"), "\(badSecret.output)")
        let missingFile = try await SwitchboardProcess.run(
            ["producer", "--redis", server.url, "--port", String(port)],
            environment: ["VOICE_UPLOAD_TOKEN_FILE": "/nonexistent/voice_token"])
        #expect(missingFile.status == 2 && missingFile.output.contains("VOICE_UPLOAD_TOKEN_FILE"), "\(missingFile.output)")
        let badBlobs = try await SwitchboardProcess.run(
            ["producer", "--redis", server.url, "--port", String(port)],
            environment: ["BLOB_STORE": "file:///proc/switchboard-blobs"])
        #expect(badBlobs.status == 2 && badBlobs.output.contains("BLOB_STORE"), "\(badBlobs.output)")
        // An empty Chatwoot secret would make the signed route take unsigned deliveries: refused.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-empty-\(UUID().uuidString)")
        try "\n".write(to: empty, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: empty) }
        let emptySecret = try await SwitchboardProcess.run(
            ["producer", "--redis", server.url, "--port", String(port)],
            environment: ["CHATWOOT_WEBHOOK_SECRET_FILE": empty.path])
        #expect(
            emptySecret.status == 2 && emptySecret.output.contains("CHATWOOT_WEBHOOK_SECRET_FILE")
                && emptySecret.output.contains("unsigned"),
            "\(emptySecret.output)")
        let emptyVariable = try await SwitchboardProcess.run(
            ["producer", "--redis", server.url, "--port", String(port)],
            environment: ["CHATWOOT_WEBHOOK_SECRET": ""])
        #expect(emptyVariable.status == 2 && emptyVariable.output.contains("CHATWOOT_WEBHOOK_SECRET"), "\(emptyVariable.output)")
        // The team's assistant reads private knowledge: never behind unsigned deliveries.
        for team in [["ASSISTANT_INBOX_IDS": "4"], ["ASSISTANT_STAFF_INBOX_IDS": "9"], ["ASSISTANT_HANDLE": "@bot"]] {
            let unsigned = try await SwitchboardProcess.run(["producer", "--redis", server.url, "--port", String(port)], environment: team)
            #expect(
                unsigned.status == 2 && unsigned.output.contains(team.keys.first!) && unsigned.output.contains("CHATWOOT_WEBHOOK_SECRET"),
                "\(unsigned.output)")
        }
    }

    /// Without a webhook secret, a forged agent's note to the assistant starts nothing: the
    /// team's answers draw on what guests may not read.
    @Test func unsignedDeliveriesNeverAskTheTeamsAssistant() async throws {
        let server = try await RedisServer()
        let (producer, port) = try await SwitchboardProcess.serving {
            ["producer", "--redis", server.url, "--host", "127.0.0.1", "--port", String($0)]
        }
        defer { if producer.isRunning { producer.signal(SIGKILL) } }
        let note =
            #"{"event":"message_created","id":501,"content":"@assistant what did Bob say on his call?","message_type":"outgoing","private":true,"sender":{"id":3,"type":"user"},"account":{"id":1},"conversation":{"id":10}}"#
        let reply = try await LoopbackHTTP.send(
            port: port, path: "/webhooks/chatwoot", headers: [("Content-Type", "application/json")], body: Array(note.utf8))
        #expect(reply.status != 202, "\(reply.status) \(reply.text)")
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.close() }
        #expect(try await client.send("XLEN", "{switchboard}:retrieve:stream").integer == 0)
        producer.signal(SIGTERM)
        #expect(await producer.waitForExit() == 0)
    }

    /// A client holding a half-sent body (and another holding a silent connection) cannot keep the
    /// producer from stopping: past --grace-period the request is cut off and the process exits 0.
    @Test func sigtermEndsWithinTheGracePeriodWhateverClientsHold() async throws {
        let server = try await RedisServer()
        let (producer, port) = try await SwitchboardProcess.serving { port in
            [
                "producer", "--redis", server.url, "--host", "127.0.0.1", "--port", String(port), "--grace-period", "2",
                "--request-timeout", "600", "--idle-timeout", "600",
            ]
        }
        defer { if producer.isRunning { producer.signal(SIGKILL) } }
        let halfSent = try RawConnection(port: port)
        halfSent.send(
            "POST /webhooks/chatwoot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"event\":")
        let silent = try RawConnection(port: port)
        // Let the producer see the head (the handler is then waiting for the rest of the body).
        #expect(await eventually { await HTTPProbe.get(port: port, path: "/healthz")?.status == 200 })
        let stopped = ContinuousClock.now
        producer.signal(SIGTERM)
        let status = await producer.waitForExit(timeout: .seconds(15))
        #expect(status == 0, "\(producer.log)")
        #expect(ContinuousClock.now - stopped < .seconds(9), "the grace period is 2 s, cancellation at most 5 s more")
        #expect(await halfSent.closedByPeer(timeout: .seconds(2)))
        #expect(await silent.closedByPeer(timeout: .seconds(2)))
    }

    /// A rolling update under load: after SIGTERM the producer goes on answering for the drain
    /// delay (its /readyz says draining, so the proxy stops sending), then stops. A client sending
    /// all along gets every request it got through to answered — never a connection accepted and
    /// then dropped — and the producer exits 0.
    @Test func aProducerDrainsBeforeItStopsAndDropsNoRequest() async throws {
        let server = try await RedisServer()
        let (producer, port) = try await SwitchboardProcess.serving { port in
            ["producer", "--redis", server.url, "--host", "127.0.0.1", "--port", String(port), "--drain-delay", "2", "--grace-period", "2"]
        }
        defer { if producer.isRunning { producer.signal(SIGKILL) } }
        // `reset`: the connection ended before a byte of the answer — what the kernel does to the
        // connections still in the listen backlog when the listener closes at the end of the drain.
        // The producer never read those, so nothing was taken and lost; any other failure is a drop.
        enum Result: Sendable {
            case answered(Int, after: Bool)
            case refused
            case reset(at: ContinuousClock.Instant)
            case dropped(String)
        }
        let results = LockedValue<[Result]>([])
        let signalled = LockedValue<ContinuousClock.Instant?>(nil)
        let sender = Thread {
            var id = 0
            while producer.isRunning {
                id += 1
                let body =
                    #"{"event":"message_created","id":\#(id),"content":"hi","message_type":"incoming","private":false,"sender":{"id":3,"type":"contact"},"account":{"id":1},"conversation":{"id":10}}"#
                let after = signalled.value != nil
                do {
                    let reply = try LoopbackHTTP.exchange(
                        port: port, method: "POST", path: "/webhooks/chatwoot",
                        headers: [("Content-Type", "application/json")], body: Array(body.utf8), timeout: 5)
                    results.withLock { $0.append(.answered(reply.status, after: after)) }
                } catch let failure as TestFailure where failure.description.hasPrefix("nothing listens") {
                    results.withLock { $0.append(.refused) }
                } catch let failure as TestFailure where failure.description == "no complete HTTP response (0 bytes)" {
                    results.withLock { $0.append(.reset(at: .now)) }
                } catch {
                    results.withLock { $0.append(.dropped("\(error)")) }
                }
            }
        }
        sender.start()
        #expect(await eventually { results.value.count >= 20 })
        let signalledAt = ContinuousClock.now
        signalled.set(signalledAt)
        producer.signal(SIGTERM)
        #expect(
            await eventually(timeout: .seconds(3)) { await HTTPProbe.get(port: port, path: "/readyz")?.status == 503 },
            "readyz says draining")
        #expect(await producer.waitForExit(timeout: .seconds(15)) == 0, "\(producer.log)")
        #expect(await eventually { sender.isFinished })
        let all = results.value
        let answeredAfter = all.filter { if case .answered(let status, true) = $0 { (200..<300).contains(status) } else { false } }.count
        let dropped = all.compactMap { if case .dropped(let why) = $0 { why } else { nil } }
        let earlyResets = all.filter { if case .reset(let at) = $0 { at - signalledAt < .milliseconds(1900) } else { false } }.count
        #expect(answeredAfter >= 5, "requests kept being answered during the drain: \(answeredAfter)")
        #expect(dropped.isEmpty, "requests accepted and then dropped: \(dropped)")
        #expect(earlyResets == 0, "connections reset during the drain delay, while the listener should still serve")
        // Every job the producer took was answered 202, and nothing else made one.
        let accepted = all.filter { if case .answered(202, _) = $0 { true } else { false } }.count
        #expect(try await server.command("XLEN", "{switchboard}:retrieve:stream").integer == accepted)
        #expect(all.allSatisfy { if case .answered(let status, _) = $0 { (200..<300).contains(status) } else { true } })
    }
}
