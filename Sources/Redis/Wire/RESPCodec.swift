import CHiredis
import NIOCore

/// The Redis protocol as hiredis speaks it, for a connection driven by an event loop: commands
/// encoded by `redisFormatCommandArgv`, replies parsed by a `redisReader` fed with whatever bytes
/// arrive, however they are split. No parser of our own.
enum RESPEncoding {
    /// Appends `command` in the protocol's form to `buffer`.
    static func append(_ command: RedisCommand, to buffer: inout ByteBuffer) {
        HiredisReply.withArgv(command.arguments) { argc, argv, lengths in
            var formatted: UnsafeMutablePointer<CChar>?
            let length = redisFormatCommandArgv(&formatted, argc, argv, lengths)
            defer { redisFreeCommand(formatted) }
            guard length > 0, let formatted else { return }
            buffer.writeBytes(UnsafeRawBufferPointer(start: formatted, count: Int(length)))
        }
    }
}

/// A hiredis reply reader. Not `Sendable`: one belongs to one channel and is used only on its
/// event loop, so the C handle never crosses threads.
final class RESPReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        reader = redisReaderCreate()
        // hiredis keeps an idle 16 KiB buffer by default and frees larger ones once empty; keep that.
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Hands the reader the bytes that arrived.
    func feed(_ buffer: ByteBuffer) throws(RESPError) {
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return REDIS_OK }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK { throw RESPError(message: errorText) }
    }

    /// The next complete reply, or nil until more bytes arrive.
    func next() throws(RESPError) -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else { throw RESPError(message: errorText) }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return HiredisReply.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    private var errorText: String {
        let message = HiredisReply.errorText(reader.pointee.errstr)
        return message.isEmpty ? "protocol error" : message
    }
}

/// The server sent something that is not the Redis protocol.
struct RESPError: Error {
    let message: String
}
