import Foundation

/// A `multipart/form-data` body (RFC 7578) to send: text fields and files, each its own part.
public struct MultipartFormBody: Sendable {
    public let boundary: String
    private var bytes: [UInt8] = []

    public init(boundary: String = "switchboard-\(UUID().uuidString)") {
        self.boundary = boundary
    }

    public var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    public mutating func field(_ name: String, _ value: String) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(Self.escape(name))\"\r\n\r\n\(value)\r\n".utf8)
    }

    public mutating func file(_ name: String, filename: String, contentType: String, data: [UInt8]) {
        bytes += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(Self.escape(name))\"; filename=\"\(Self.escape(filename))\"\r\nContent-Type: \(contentType)\r\n\r\n"
                .utf8)
        bytes += data
        bytes += Array("\r\n".utf8)
    }

    /// The whole body, closed by the final boundary.
    public var body: [UInt8] { bytes + Array("--\(boundary)--\r\n".utf8) }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
    }
}
