/// Commands laid out in the Redis protocol (an array of bulk strings each) in one growing buffer,
/// written to the socket whole (`RedisConnection`); hiredis reads the replies.
///
/// Why not hiredis' `redisAppendCommandArgv`: it formats each argument's header with `sdscatfmt`
/// and grows its buffer argument by argument, which showed as a tenth of the worker's CPU under a
/// `perf` profile of the engine benchmark. The buffer is kept by the connection and reused, so a
/// batch of commands costs one copy of its bytes and no allocation once it has grown.
struct CommandEncoding {
    private(set) var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(4096)
    }

    /// Empties the buffer, keeping its storage (a buffer grown past `keptCapacity` by an unusual
    /// batch is let go, so one large command does not pin its memory for the connection's life).
    mutating func reset() {
        if bytes.capacity > Self.keptCapacity {
            bytes = []
            bytes.reserveCapacity(4096)
        } else {
            bytes.removeAll(keepingCapacity: true)
        }
    }

    /// Appends `*<n>\r\n` then `$<length>\r\n<bytes>\r\n` per argument.
    mutating func append(_ command: RedisCommand) {
        appendHeader(UInt8(ascii: "*"), command.arguments.count)
        for argument in command.arguments {
            var argument = argument
            argument.withUTF8 { utf8 in
                appendHeader(UInt8(ascii: "$"), utf8.count)
                bytes.append(contentsOf: utf8)
            }
            bytes.append(13)
            bytes.append(10)
        }
    }

    private mutating func appendHeader(_ marker: UInt8, _ number: Int) {
        bytes.append(marker)
        if number < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(number))
        } else {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
                var value = number
                var start = digits.count
                repeat {
                    start -= 1
                    digits[start] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                } while value > 0
                bytes.append(contentsOf: digits[start...])
            }
        }
        bytes.append(13)
        bytes.append(10)
    }

    static let keptCapacity = 1 << 16
}
