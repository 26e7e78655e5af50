import Queue

/// A guest's incoming text message in Chatwoot: the start of the chat flow.
public struct ChatMessage: Codable, Sendable, Equatable {
    public var accountID: Int
    /// The conversation's display id, which the Chatwoot API takes in its paths.
    public var conversationID: Int
    public var inboxID: Int?
    public var messageID: Int
    public var content: String
    public var senderID: Int?
    public var senderName: String?
    /// The guest spoke: the answer goes back as audio too (the voice flow).
    public var replyAsVoice: Bool?
    /// Who asks: a guest (nil), the team in an internal inbox, or an agent's `@assistant` note.
    public var audience: Audience?
    /// For an agent's note: who the conversation's guest is, as the channel vouches for it (a
    /// WhatsApp number) — with what calls and bookings verified (`VerifiedGuest`), whose private
    /// points the answer may draw on, and no one else's. Never what the guest typed.
    public var verifiedGuest: [VerifiedGuest]?

    /// Who a question comes from, which decides what knowledge answers it and where the answer goes.
    public enum Audience: String, Codable, Sendable {
        /// A guest: shared knowledge only, answered in the conversation.
        case guest
        /// A member of the team, in a team inbox: all of the account's knowledge, sources named,
        /// answered as a private note (in the open only in a staff inbox, `FlowServices.staffInboxes`).
        case team
        /// An agent's private note to the assistant: shared knowledge and this guest's own, answered as a private note.
        case agent
    }

    public init(
        accountID: Int, conversationID: Int, inboxID: Int?, messageID: Int, content: String, senderID: Int?, senderName: String?,
        replyAsVoice: Bool? = nil, audience: Audience? = nil, verifiedGuest: [VerifiedGuest]? = nil
    ) {
        self.audience = audience
        self.verifiedGuest = verifiedGuest
        self.replyAsVoice = replyAsVoice
        self.accountID = accountID
        self.conversationID = conversationID
        self.inboxID = inboxID
        self.messageID = messageID
        self.content = content
        self.senderID = senderID
        self.senderName = senderName
    }

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case conversationID = "conversation_id"
        case inboxID = "inbox_id"
        case messageID = "message_id"
        case content
        case senderID = "sender_id"
        case senderName = "sender_name"
        case replyAsVoice = "reply_as_voice"
        case audience
        case verifiedGuest = "verified_guest"
    }
}

/// Where a voice message's audio is: in our blob store (a direct upload) or at a URL (a Chatwoot
/// attachment, fetched by the transcribe stage). Audio bytes never sit in Redis.
public struct AudioSource: Codable, Sendable, Equatable {
    /// A blob store reference, e.g. `file:///var/lib/switchboard/blobs/…` or `s3://bucket/key`.
    public var blob: String?
    public var url: String?
    public var contentType: String?
    public var byteCount: Int?

    public init(blob: String? = nil, url: String? = nil, contentType: String? = nil, byteCount: Int? = nil) {
        self.blob = blob
        self.url = url
        self.contentType = contentType
        self.byteCount = byteCount
    }

    enum CodingKeys: String, CodingKey {
        case blob, url
        case contentType = "content_type"
        case byteCount = "byte_count"
    }
}

/// A guest's voice message: the start of the voice flow.
public struct VoiceMessage: Codable, Sendable, Equatable {
    public var accountID: Int
    public var conversationID: Int
    /// The Chatwoot message that carried the audio; nil for a direct upload.
    public var messageID: Int?
    public var audio: AudioSource
    /// Text sent along with the audio, if any.
    public var caption: String?

    public init(accountID: Int, conversationID: Int, messageID: Int?, audio: AudioSource, caption: String?) {
        self.accountID = accountID
        self.conversationID = conversationID
        self.messageID = messageID
        self.audio = audio
        self.caption = caption
    }

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case conversationID = "conversation_id"
        case messageID = "message_id"
        case audio, caption
    }
}

/// A finished Aircall call with a recording or voicemail: the start of the call flow. The
/// recording URL lives one hour, so the first stage downloads it into the blob store at once.
public struct CallRecording: Codable, Sendable, Equatable {
    public var event: String
    public var callID: Int
    public var recordingURL: String
    /// `recording` or `voicemail`.
    public var source: String
    public var direction: String?
    /// The other party's number as dialled (`raw_digits`), used to find the Chatwoot contact.
    public var rawDigits: String?
    public var startedAt: Int?
    public var endedAt: Int?
    public var duration: Int?
    public var agentName: String?
    public var lineName: String?

    public init(
        event: String, callID: Int, recordingURL: String, source: String, direction: String?, rawDigits: String?,
        startedAt: Int?, endedAt: Int?, duration: Int?, agentName: String?, lineName: String?
    ) {
        self.event = event
        self.callID = callID
        self.recordingURL = recordingURL
        self.source = source
        self.direction = direction
        self.rawDigits = rawDigits
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.duration = duration
        self.agentName = agentName
        self.lineName = lineName
    }

    enum CodingKeys: String, CodingKey {
        case event
        case callID = "call_id"
        case recordingURL = "recording_url"
        case source, direction
        case rawDigits = "raw_digits"
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case duration
        case agentName = "agent_name"
        case lineName = "line_name"
    }
}

/// A Guesty reservation created or changed: the start of the booking flow. Only the facts the
/// flow uses travel; the lean v2 events may carry fewer of them, which later stages tolerate.
public struct BookingChange: Codable, Sendable, Equatable {
    public var event: String
    public var reservationID: String
    public var status: String?
    public var checkIn: String?
    public var checkOut: String?
    public var guestName: String?
    public var guestEmail: String?
    public var guestPhone: String?
    public var listingID: String?
    public var listingTitle: String?
    public var confirmationCode: String?
    public var source: String?
    public var publishedAt: String?

    public init(event: String, reservationID: String) {
        self.event = event
        self.reservationID = reservationID
    }

    enum CodingKeys: String, CodingKey {
        case event
        case reservationID = "reservation_id"
        case status
        case checkIn = "check_in"
        case checkOut = "check_out"
        case guestName = "guest_name"
        case guestEmail = "guest_email"
        case guestPhone = "guest_phone"
        case listingID = "listing_id"
        case listingTitle = "listing_title"
        case confirmationCode = "confirmation_code"
        case source
        case publishedAt = "published_at"
    }
}

/// A payload whose JSON is written by hand, equal to what `JSONEncoder` with `.sortedKeys` makes
/// of it (the tests decode both and compare).
public protocol WritesOwnJSON {
    var jsonText: String { get }
}

extension BookingChange: WritesOwnJSON {
    public var jsonText: String {
        var object = JSONObjectText()
        object.add(CodingKeys.checkIn.rawValue, checkIn)
        object.add(CodingKeys.checkOut.rawValue, checkOut)
        object.add(CodingKeys.confirmationCode.rawValue, confirmationCode)
        object.add(CodingKeys.event.rawValue, event)
        object.add(CodingKeys.guestEmail.rawValue, guestEmail)
        object.add(CodingKeys.guestName.rawValue, guestName)
        object.add(CodingKeys.guestPhone.rawValue, guestPhone)
        object.add(CodingKeys.listingID.rawValue, listingID)
        object.add(CodingKeys.listingTitle.rawValue, listingTitle)
        object.add(CodingKeys.publishedAt.rawValue, publishedAt)
        object.add(CodingKeys.reservationID.rawValue, reservationID)
        object.add(CodingKeys.source.rawValue, source)
        object.add(CodingKeys.status.rawValue, status)
        return object.closed
    }
}
