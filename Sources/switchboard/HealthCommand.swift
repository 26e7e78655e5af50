import ArgumentParser
import Foundation

struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 when the local role answers its health check (for Docker's HEALTHCHECK).",
        discussion:
            "GETs http://127.0.0.1:PORT/PATH and exits 0 on a 2xx answer within --timeout, 1 otherwise. The image has no curl; this is its probe."
    )

    @Option(help: "The role's monitoring port (the consumer's --metrics-port).")
    var port: Int = Int(ProcessInfo.processInfo.environment["HEALTHCHECK_PORT"] ?? "") ?? 9090

    @Option(help: "The path to ask: /healthz (the process is up) or /readyz (and Redis answers).")
    var path: String = "/healthz"

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Int = 3

    func run() throws {
        guard let status = LocalHTTP.status(port: port, path: path, timeoutSeconds: timeout), (200..<300).contains(status) else {
            throw ExitCode(1)
        }
    }
}

/// A minimal HTTP/1.1 GET on 127.0.0.1, enough to read a status line.
enum LocalHTTP {
    static func status(port: Int, path: String, timeoutSeconds: Int) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        guard request.withCString({ send(fd, $0, strlen($0), 0) }) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        let line = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = line.split(separator: " ")
        return parts.count >= 2 ? Int(parts[1]) : nil
    }
}
