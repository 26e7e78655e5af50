import CHiredis

/// hiredis' reply objects copied into Swift values, and command arguments laid out for hiredis'
/// argv functions (`RESPEncoding`, `RESPReader`): the protocol work stays hiredis'.
enum HiredisReply {
    static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .string(text(r.str, r.len))
        case REDIS_REPLY_STATUS:
            return .status(text(r.str, r.len))
        case REDIS_REPLY_ERROR:
            return .error(text(r.str, r.len))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(r.integer))
        case REDIS_REPLY_ARRAY:
            var values: [RedisValue] = []
            values.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                if let element = r.element[index] { values.append(copy(element)) } else { values.append(.null) }
            }
            return .array(values)
        default:
            return .null
        }
    }

    /// The text of a hiredis `errstr` field (a NUL-terminated fixed-size array), empty when unset.
    static func errorText<Field>(_ errstr: Field) -> String {
        withUnsafeBytes(of: errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    static func text(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    /// Lays all arguments out in one buffer and hands hiredis pointers and lengths into it.
    static func withArgv<R>(_ arguments: [String], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R)
        -> R
    {
        var total = 0
        for argument in arguments { total += argument.utf8.count }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(total, 1)) { bytes in
            withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: arguments.count) { argv in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: arguments.count) { lengths in
                    var offset = 0
                    for (index, argument) in arguments.enumerated() {
                        var utf8 = argument
                        let count = utf8.withUTF8 { source in
                            if source.count > 0 {
                                UnsafeMutableRawBufferPointer(
                                    rebasing: UnsafeMutableRawBufferPointer(bytes)[offset..<(offset + source.count)]
                                )
                                .copyMemory(from: UnsafeRawBufferPointer(source))
                            }
                            return source.count
                        }
                        argv[index] = UnsafeRawPointer(bytes.baseAddress! + offset).assumingMemoryBound(to: CChar.self)
                        lengths[index] = count
                        offset += count
                    }
                    return body(Int32(arguments.count), argv.baseAddress!, UnsafePointer(lengths.baseAddress!))
                }
            }
        }
    }
}
