import CHiredis

/// Builds Swift values while hiredis' reader parses a reply: reading the protocol stays hiredis'
/// work, but no tree of C reply objects is allocated, copied into Swift values and freed again
/// for every reply (two allocations and two frees per string of a stream entry, the larger part
/// of a connection thread's allocations).
///
/// hiredis calls the functions installed here depth first: an array, then each of its elements
/// in order. So the arrays under construction form a stack; an element goes to the innermost
/// one, and an array whose last element arrived is closed into its parent. Not `Sendable`: like
/// the connection that owns it, it lives on one thread.
final class HiredisReply {
    /// An array under construction: its elements so far and how many are still to come.
    private struct OpenArray {
        var elements: [RedisValue]
        var missing: Int
    }

    static let reservedAtMost = 4096

    private var open: [OpenArray] = []
    private var finished: RedisValue?
    private let functions: UnsafeMutablePointer<redisReplyObjectFunctions>

    /// Installs the builder on `context`'s reader; it must outlive the context (hiredis frees a
    /// half-read reply through it when the context is freed).
    init(on context: UnsafeMutablePointer<redisContext>) {
        functions = .allocate(capacity: 1)
        functions.initialize(to: redisReplyObjectFunctions())
        functions.pointee.createString = { task, text, length in
            let builder = HiredisReply.of(task)
            let string = HiredisReply.text(text, length)
            switch Int32(task!.pointee.type) {
            case REDIS_REPLY_STATUS: builder.add(.status(string))
            case REDIS_REPLY_ERROR: builder.add(.error(string))
            default: builder.add(.string(string))
            }
            return task!.pointee.privdata
        }
        functions.pointee.createArray = { task, count in
            let builder = HiredisReply.of(task)
            builder.openArray(Int(count))
            return task!.pointee.privdata
        }
        functions.pointee.createInteger = { task, value in
            HiredisReply.of(task).add(.integer(Int(value)))
            return task!.pointee.privdata
        }
        functions.pointee.createNil = { task in
            HiredisReply.of(task).add(.null)
            return task!.pointee.privdata
        }
        // Called for a reply hiredis gives up on (a protocol error, the context freed mid-reply).
        functions.pointee.freeObject = { builder in
            guard let builder else { return }
            Unmanaged<HiredisReply>.fromOpaque(builder).takeUnretainedValue().discard()
        }
        context.pointee.reader.pointee.fn = functions
        context.pointee.reader.pointee.privdata = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        functions.deinitialize(count: 1)
        functions.deallocate()
    }

    /// The reply hiredis just completed (`redisGetReply` answered with a non-nil object).
    func take() -> RedisValue {
        defer { finished = nil }
        return finished ?? .null
    }

    /// The text of a hiredis `errstr` field (a NUL-terminated fixed-size array), empty when unset.
    static func errorText<Field>(_ errstr: Field) -> String {
        withUnsafeBytes(of: errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    private static func of(_ task: UnsafePointer<redisReadTask>?) -> HiredisReply {
        Unmanaged<HiredisReply>.fromOpaque(task!.pointee.privdata).takeUnretainedValue()
    }

    private static func text(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    private func openArray(_ count: Int) {
        guard count > 0 else { return add(.array([])) }
        var elements: [RedisValue] = []
        // A count is the server's word: room for a hostile one would be asked of the allocator
        // at once, and refused by trapping. Beyond this it grows as elements arrive.
        elements.reserveCapacity(min(count, Self.reservedAtMost))
        open.append(OpenArray(elements: elements, missing: count))
    }

    private func add(_ value: RedisValue) {
        var value = value
        while !open.isEmpty {
            let last = open.count - 1
            open[last].elements.append(value)
            open[last].missing -= 1
            guard open[last].missing == 0 else { return }
            value = .array(open.removeLast().elements)
        }
        finished = value
    }

    private func discard() {
        open.removeAll(keepingCapacity: true)
        finished = nil
    }
}
