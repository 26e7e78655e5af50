import CHiredis

/// hiredis' reply objects copied into Swift values: reading the protocol stays hiredis' work.
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
}
