/// A job's identity: 26 characters of Crockford base32, 48 bits of milliseconds then 80 random bits,
/// so ids sort by creation time and never collide between replicas. It stays the same across
/// retries and dead letters, unlike the stream entry id.
public enum JobID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func make(now: UInt64 = Clock.unixMilliseconds()) -> String {
        var generator = SystemRandomNumberGenerator()
        let high = now & 0xFFFF_FFFF_FFFF
        let randomHigh = UInt64(generator.next() as UInt16)
        let randomLow = generator.next() as UInt64
        // 128 bits: 48 time | 16 random | 64 random, printed as 26 five-bit digits (2 leading pad bits).
        let upper = (high << 16) | randomHigh
        var digits = [UInt8](repeating: 0, count: 26)
        var lo = randomLow
        var hi = upper
        for index in stride(from: 25, through: 0, by: -1) {
            digits[index] = alphabet[Int(lo & 31)]
            lo = (lo >> 5) | ((hi & 31) << 59)
            hi >>= 5
        }
        return String(decoding: digits, as: UTF8.self)
    }
}

/// Wall-clock time in the units the envelope and the delayed set use.
public enum Clock {
    public static func unixMilliseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
    }

    public static func unixMicroseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000 + UInt64(spec.tv_nsec) / 1000
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
