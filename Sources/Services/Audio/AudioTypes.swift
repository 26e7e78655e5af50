import Foundation

/// The audio formats Switchboard handles (uploads, attachments, speech), by content type and by
/// file extension: one table for the producer and the speech client.
public enum AudioTypes {
    /// Content types accepted for upload (aliases included) and the extension their blob gets.
    public static let extensions: [String: String] = [
        "audio/ogg": "ogg", "audio/opus": "opus", "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav",
        "audio/x-wav": "wav", "audio/wave": "wav", "audio/webm": "webm", "audio/mp4": "m4a", "audio/x-m4a": "m4a",
        "audio/aac": "aac", "audio/flac": "flac", "audio/amr": "amr",
    ]

    /// The one canonical content type of each extension.
    public static let contentTypes: [String: String] = [
        "ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/opus", "mp3": "audio/mpeg", "wav": "audio/wav",
        "webm": "audio/webm", "m4a": "audio/mp4", "aac": "audio/aac", "flac": "audio/flac", "amr": "audio/amr",
    ]

    /// The extension for a content type (parameters such as `; codecs=opus` ignored), if it is audio we take.
    public static func fileExtension(forContentType type: String) -> String? {
        let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return extensions[media]
    }

    public static func contentType(forExtension ext: String) -> String? {
        contentTypes[ext.lowercased().trimmingPrefix(".").description]
    }
}
