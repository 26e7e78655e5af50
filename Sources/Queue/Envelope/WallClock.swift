#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Wall-clock time in the units the envelope and the delayed set use (named apart from the
/// standard library's `Clock` protocol, which it is not).
public enum WallClock {
    public static func unixMilliseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
    }

    /// Milliseconds from `then` to `now`; zero when `then` lies ahead (another replica's clock,
    /// a little in front of this one's, wrote it) rather than a wrapped-around eternity.
    public static func millisecondsSince(_ then: UInt64, now: UInt64 = unixMilliseconds()) -> UInt64 {
        now > then ? now - then : 0
    }

    public static func unixMicroseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000 + UInt64(spec.tv_nsec) / 1000
    }
}
