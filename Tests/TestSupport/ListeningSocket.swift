import Foundation

/// Which process listens on a loopback port, read from `/proc`: a port found free can be taken by
/// another test's server before ours binds it, and that server may answer the very probe ours was
/// waited on with (the same `/healthz`, even the same console token). Ours is ready when it is the
/// one listening, not when something answers.
public enum ListeningSocket {
    /// True when `pid` holds the socket listening on TCP `port` (IPv4 or IPv6, any address).
    public static func isHeld(port: Int, by pid: Int32) -> Bool {
        let inodes = listeningInodes(port: port)
        guard !inodes.isEmpty,
            let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        else { return false }
        for descriptor in descriptors {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(descriptor)"),
                target.hasPrefix("socket:["), target.hasSuffix("]")
            else { continue }
            if inodes.contains(String(target.dropFirst("socket:[".count).dropLast())) { return true }
        }
        return false
    }

    /// The inodes of the sockets in state LISTEN (`0A`) on `port`, from `/proc/net/tcp` and `tcp6`.
    static func listeningInodes(port: Int) -> Set<String> {
        let hexPort = String(format: "%04X", port)
        var inodes: Set<String> = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            for line in readWhole(table).split(separator: "\n").dropFirst() {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                let columns = line.split(separator: " ", omittingEmptySubsequences: true)
                guard columns.count > 9, columns[3] == "0A", columns[1].hasSuffix(":\(hexPort)") else { continue }
                inodes.insert(String(columns[9]))
            }
        }
        return inodes
    }

    /// A `/proc` file read to its end: it says its size is 0, and a reader that trusts a size (or
    /// stops after one page, as Foundation's did here: 27 of 3,279 lines) misses most of it.
    static func readWhole(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: chunk[..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
