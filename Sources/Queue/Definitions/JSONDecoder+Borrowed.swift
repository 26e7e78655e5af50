import Foundation

extension JSONDecoder {
    /// Decodes JSON text without first copying it into a `Data` of its own: the decoder reads the
    /// string's bytes where they are (it keeps no reference to them past the call). Every job's
    /// payload is decoded so, and the copy was an eighth of the decoding's cost.
    public func decode<T: Decodable>(_ type: T.Type, borrowing text: String) throws -> T {
        var text = text
        return try text.withUTF8 { try decode(type, borrowing: UnsafeRawBufferPointer($0)) }
    }

    /// The same for bytes (a webhook's body, as read).
    public func decode<T: Decodable>(_ type: T.Type, borrowing bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, borrowing: $0) }
    }

    private func decode<T: Decodable>(_ type: T.Type, borrowing bytes: UnsafeRawBufferPointer) throws -> T {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return try decode(type, from: Data()) }
        return try decode(type, from: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none))
    }
}
