import Foundation
import Hummingbird
import Services
import TestSupport

/// What the Swarm test deploys in place of what an operator already runs: Chatwoot's API, the chat
/// model, embeddings and Azure Speech (`standins services`), or Qdrant (`standins qdrant`), each
/// the test suite's own fake, listening on every interface on the port the real one uses or the
/// stack's settings name. `GET :8999/report` says what Chatwoot was sent, for the test to check.
/// Credentials come from the same Docker secrets the stack gives Switchboard.
@main
enum StandIns {
    static func main() async throws {
        let role = CommandLine.arguments.dropFirst().first ?? "services"
        let running: [any Sendable]
        switch role {
        case "services": running = try await services()
        case "qdrant": running = try await qdrant()
        default:
            FileHandle.standardError.write(Data("usage: standins services|qdrant\n".utf8))
            exit(2)
        }
        FileHandle.standardError.write(Data("standins \(role): \(running.count) fakes listening\n".utf8))
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }

    /// `NAME`, else the file `NAME_FILE` names, trimmed.
    static func setting(_ name: String) -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let value = environment[name], !value.isEmpty { return value }
        guard let path = environment["\(name)_FILE"], let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Returns the fakes, which serve as long as they are held.
    static func services() async throws -> [any Sendable] {
        let everywhere = "0.0.0.0"
        let chatwoot = try await FakeChatwoot(
            token: setting("CHATWOOT_API_TOKEN") ?? "cw", botToken: setting("CHATWOOT_BOT_TOKEN"),
            contacts: [.init(id: 7, name: "Ada", email: "ada@example.com", phone: "+33612345678")],
            conversations: [.init(id: 51, contact: 7, lastActivityAt: 1_700_000_000)], host: everywhere, port: 3000)
        let embeddings = try await FakeService.embeddings(vector: [1, 0, 0], host: everywhere, port: 8001)
        let model = try await FakeService.chatModel(answer: "Breakfast is served from 7 to 10.", host: everywhere, port: 8002)
        let speech = try await FakeService.azureSpeech(
            heard: "When is breakfast?", transcribed: "Hello, this is Ada, I would like to arrive early on Friday.",
            host: everywhere, port: 8003)
        let recordings = try await FakeService(host: everywhere, port: 8004) { _ in
            FakeService.answer(.ok, "ID3-recording", headers: [.contentType: "audio/mpeg"])
        }
        let fakes = ["chatwoot": chatwoot.service, "embeddings": embeddings, "model": model, "speech": speech, "recordings": recordings]
        let report = try await FakeService(host: everywhere, port: 8999) { _ in
            let posted = chatwoot.posted.value.map { post -> [String: Any] in
                [
                    "conversation": post.conversation, "private": post.isPrivate, "bot": post.byBot, "multipart": post.multipart,
                    "content": post.content,
                ]
            }
            let requests = fakes.mapValues { $0.requests.map { "\($0.method) \($0.path)" } }
            let body =
                (try? JSONSerialization.data(withJSONObject: ["posted": posted, "requests": requests], options: [.sortedKeys])) ?? Data()
            return FakeService.answer(.ok, String(decoding: body, as: UTF8.self), headers: [.contentType: "application/json"])
        }
        return [chatwoot, report] + Array(fakes.values)
    }

    static func qdrant() async throws -> [any Sendable] {
        let (qdrant, service) = try await FakeQdrant.create(apiKey: setting("QDRANT_API_KEY") ?? "", host: "0.0.0.0", port: 6333)
        // What the house manual would hold: the chat flow's retrieval finds it.
        qdrant.seed(
            setting("QDRANT_COLLECTION") ?? "knowledge", id: QdrantClient.pointID(for: "kb:breakfast"), vector: [1, 0, 0],
            payload: #"{"account_id":1,"text":"Breakfast 7:00-10:00 in the lobby."}"#)
        return [qdrant, service]
    }
}
