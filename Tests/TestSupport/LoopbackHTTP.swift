import Foundation

/// One HTTP/1.1 exchange with a loopback server over a plain socket (a request with
/// `Connection: close`, the response read to end of file), for testing our own servers over real
/// HTTP without pulling an HTTP client library into the build.
public enum LoopbackHTTP {
    public struct Reply: Sendable {
        public var status: Int
        /// Header names lowercased.
        public var headers: [String: String]
        public var body: [UInt8]
        /// Every `Set-Cookie` value, in order (the headers keep only the last).
        public var cookies: [String] = []
        public var text: String { String(decoding: body, as: UTF8.self) }

        /// The value a `Set-Cookie` of this reply gives `name`, if any.
        public func cookie(_ name: String) -> String? {
            cookies.lazy.compactMap { line -> String? in
                let pair = line.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
                guard pair.hasPrefix(name + "=") else { return nil }
                return String(pair.dropFirst(name.count + 1))
            }.last
        }
    }

    /// Sends a request; `chunked` streams the body with chunked transfer coding instead of a
    /// Content-Length. The blocking socket work runs on a thread of its own: not on Swift's
    /// cooperative pool, and not on Dispatch's global queues either, which on Linux share that
    /// pool's few threads — blocking them would starve the very server under test.
    public static func send(
        port: Int, method: String = "POST", path: String, headers: [(String, String)] = [], body: [UInt8] = [],
        chunked: Bool = false, timeout: Int = 10
    ) async throws -> Reply {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        try exchange(
                            port: port, method: method, path: path, headers: headers, body: body, chunked: chunked, timeout: timeout)
                    })
            }
        }
    }

    /// The same exchange on the calling thread.
    public static func exchange(
        port: Int, method: String, path: String, headers: [(String, String)] = [], body: [UInt8] = [],
        chunked: Bool = false, timeout: Int = 10
    ) throws -> Reply {
        guard let fd = LoopbackSocket.connect(port: port) else { throw TestFailure("nothing listens on 127.0.0.1:\(port)") }
        defer { close(fd) }
        var time = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        // A Host of the caller's replaces the default one.
        let host = headers.contains { $0.0.lowercased() == "host" } ? "" : "Host: 127.0.0.1:\(port)\r\n"
        var head = "\(method) \(path) HTTP/1.1\r\n\(host)Connection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if chunked {
            head += "Transfer-Encoding: chunked\r\n\r\n"
        } else if !body.isEmpty || method == "POST" || method == "PUT" {
            head += "Content-Length: \(body.count)\r\n\r\n"
        } else {
            head += "\r\n"
        }
        var outgoing = Array(head.utf8)
        if chunked {
            var offset = 0
            while offset < body.count {
                let end = min(offset + 16384, body.count)
                outgoing += Array("\(String(end - offset, radix: 16))\r\n".utf8) + body[offset..<end] + [13, 10]
                offset = end
            }
            outgoing += Array("0\r\n\r\n".utf8)
        } else {
            outgoing += body
        }
        // A server may answer (413) and close before taking the whole body: a failed send is not
        // the end, the answer is read all the same.
        var sent = 0
        while sent < outgoing.count {
            let count = outgoing[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { break }
            sent += count
        }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return try parse(response)
    }

    static func parse(_ response: [UInt8]) throws -> Reply {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = response.indices.dropLast(3).first(where: { response[$0..<$0 + 4].elementsEqual(separator) }) else {
            throw TestFailure("no complete HTTP response (\(response.count) bytes)")
        }
        let lines = String(decoding: response[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw TestFailure("bad status line: \(lines[0])") }
        var headers: [String: String] = [:]
        var cookies: [String] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = value
            if name == "set-cookie" { cookies.append(value) }
        }
        var body = Array(response[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return Reply(status: status, headers: headers, body: body, cookies: cookies)
    }

    static func dechunk(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < data.count {
            guard let lineEnd = data[index...].firstIndex(of: 13) else { break }
            let size = Int(String(decoding: data[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16) ?? 0
            if size == 0 { break }
            let start = lineEnd + 2
            out += data[start..<min(start + size, data.count)]
            index = start + size + 2
        }
        return out
    }
}
