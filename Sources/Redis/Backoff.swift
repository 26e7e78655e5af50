/// The capped, jittered exponential delay between attempts at something that keeps failing
/// (reconnecting, writing an outcome, fetching), so a loop facing a dead server tries again a few
/// times a second at first, then every few seconds, and never busy-loops.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    private(set) var failures = 0

    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(2)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Records one more failure and returns how long to wait before the next attempt:
    /// `initial · 2^(failures-1)`, capped at `maximum`, with the upper half jittered.
    public mutating func nextDelay() -> Duration {
        failures += 1
        let exponent = min(failures - 1, 20)
        let base = min(initial * (1 << exponent), maximum)
        return base / 2 + base / 2 * Double.random(in: 0...1)
    }

    public mutating func reset() { failures = 0 }
}
