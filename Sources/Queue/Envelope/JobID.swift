import Synchronization

/// A job's identity: 26 characters of Crockford base32, 48 bits of milliseconds then 80 random bits,
/// so ids sort by creation time and never collide between replicas. It stays the same across
/// retries and dead letters, unlike the stream entry id.
public enum JobID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func make(now: UInt64 = WallClock.unixMilliseconds()) -> String {
        let (randomHigh, randomLow) = RandomBits.shared.next()
        let high = now & 0xFFFF_FFFF_FFFF
        // 128 bits: 48 time | 16 random | 64 random, printed as 26 five-bit digits (2 leading pad bits).
        let upper = (high << 16) | randomHigh
        var lo = randomLow
        var hi = upper
        return String(unsafeUninitializedCapacity: 26) { digits in
            for index in stride(from: 25, through: 0, by: -1) {
                digits[index] = alphabet[Int(lo & 31)]
                lo = (lo >> 5) | ((hi & 31) << 59)
                hi >>= 5
            }
            return 26
        }
    }

    /// The creation time (unix ms) of a job id made here, or nil for text that is not one.
    public static func milliseconds(of id: String) -> UInt64? {
        let digits = Array(id.utf8)
        guard digits.count == 26 else { return nil }
        guard digits.allSatisfy(alphabet.contains) else { return nil }
        var value: UInt64 = 0
        for digit in digits.prefix(10) {
            guard let index = alphabet.firstIndex(of: digit) else { return nil }
            value = value << 5 | UInt64(index)
        }
        return value
    }
}

/// Random bits from the kernel, read 4 KiB at a time from /dev/urandom: a job id needs 80 of them,
/// and asking the kernel for each id would cost system calls on every enqueue.
final class RandomBits: Sendable {
    static let shared = RandomBits()
    private let buffer = Mutex<(bytes: [UInt64], index: Int)>(([], 0))

    func next() -> (UInt64, UInt64) {
        buffer.withLock { state in
            if state.index + 2 > state.bytes.count {
                var generator = SystemRandomNumberGenerator()
                var words = [UInt64](repeating: 0, count: 512)
                words.withUnsafeMutableBytes { raw in
                    let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
                    var filled = 0
                    if fd >= 0 {
                        while filled < raw.count {
                            let count = read(fd, raw.baseAddress! + filled, raw.count - filled)
                            if count <= 0 { break }
                            filled += count
                        }
                        close(fd)
                    }
                    if filled < raw.count {
                        for offset in stride(from: 0, to: raw.count, by: 8) {
                            raw.storeBytes(of: generator.next() as UInt64, toByteOffset: offset, as: UInt64.self)
                        }
                    }
                }
                state = (words, 0)
            }
            defer { state.index += 2 }
            return (state.bytes[state.index] & 0xFFFF, state.bytes[state.index + 1])
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
