/// The audio formats a voice upload may carry, by content type and by file extension.
enum AudioTypes {
    /// Content types accepted for upload (aliases included) and the extension their blob gets.
    static let extensions: [String: String] = [
        "audio/ogg": "ogg", "audio/opus": "opus", "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav",
        "audio/x-wav": "wav", "audio/wave": "wav", "audio/webm": "webm", "audio/mp4": "m4a", "audio/x-m4a": "m4a",
        "audio/aac": "aac", "audio/flac": "flac", "audio/amr": "amr",
    ]

    /// The one canonical content type of each extension.
    static let contentTypes: [String: String] = [
        "ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/opus", "mp3": "audio/mpeg", "wav": "audio/wav",
        "webm": "audio/webm", "m4a": "audio/mp4", "aac": "audio/aac", "flac": "audio/flac", "amr": "audio/amr",
    ]

    static func fileExtension(forContentType type: String) -> String? {
        extensions[type.lowercased()]
    }

    static func contentType(forExtension ext: String) -> String? {
        contentTypes[ext.lowercased().trimmingPrefix(".").description]
    }
}
