import Foundation
import Hummingbird

extension FakeService {
    /// An OpenAI-compatible embeddings service that gives every input the same `vector`, listed
    /// with its index (so retrieval in tests is decided by the points' vectors, not the text).
    public static func embeddings(vector: [Float], delay: Duration = .zero, host: String = "127.0.0.1", port: Int = 0) async throws
        -> FakeService
    {
        let encoded = "[" + vector.map { "\($0)" }.joined(separator: ",") + "]"
        return try await FakeService(delay: delay, host: host, port: port) { received in
            let inputs = jsonFields(received.body)["input"] as? [String] ?? []
            let items = inputs.indices.map { #"{"object":"embedding","index":\#($0),"embedding":\#(encoded)}"# }
            return FakeService.answer(.ok, #"{"object":"list","data":[\#(items.joined(separator: ","))],"model":"m"}"#)
        }
    }
}
