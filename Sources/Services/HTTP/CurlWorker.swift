import CCurl
import Foundation
import Threads

/// One worker thread's curl easy handle and its loop: takes a request, performs it, answers the
/// caller. The handle lives and dies on this thread; `curl_easy_reset` between requests clears the
/// options but keeps the open connections, so the next request to the same host reuses one.
struct CurlWorker {
    let connectTimeout: Duration
    let userAgent: String

    func run(_ transfers: BlockingQueue<Transfer>) {
        guard let handle = curl_easy_init() else {
            while let transfer = transfers.take() {
                transfer.continuation.resume(
                    throwing: HTTPFailure(kind: .transport, request: Transfer.describe(transfer.request), detail: "curl_easy_init failed"))
            }
            return
        }
        defer { curl_easy_cleanup(handle) }
        while let transfer = transfers.take() {
            let result = Result { try perform(transfer, on: handle) }
            transfer.stream?.finish()
            transfer.continuation.resume(with: result)
        }
    }

    /// Whether the request goes with a body (an empty one for a POST or a PUT).
    static func sendsBody(_ request: HTTPClient.Request) -> Bool {
        !request.body.isEmpty || request.method == "POST" || request.method == "PUT"
    }

    private func perform(_ transfer: Transfer, on handle: UnsafeMutableRawPointer) throws -> HTTPClient.Response {
        let request = transfer.request
        let described = Transfer.describe(request)
        guard !transfer.cancelled.isSet else { throw HTTPFailure(kind: .cancelled, request: described, detail: "") }
        // Webhooks name URLs (a recording, an attachment): nothing but the web is ever fetched, so
        // `file:///…` cannot read a local file into an error, a log or a dead letter.
        guard HTTPClient.isWebURL(request.url) else { throw HTTPFailure(kind: .refusedURL, request: described, detail: "") }
        curl_easy_reset(handle)
        let sink = ResponseSink(limit: request.maxResponseBytes, cancelled: transfer.cancelled, stream: transfer.stream, handle: handle)
        let context = Unmanaged.passUnretained(sink).toOpaque()
        var headers: UnsafeMutablePointer<curl_slist>? = nil
        for (name, value) in request.headers { headers = curl_slist_append(headers, "\(name): \(value)") }
        // A body always names its type: libcurl's default for one is a form's
        // (`application/x-www-form-urlencoded`), and a server that honours it reads the bytes as
        // form fields (moto's S3 stored every upload part empty).
        if Self.sendsBody(request), !request.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            headers = curl_slist_append(headers, "Content-Type: application/octet-stream")
        }
        // No `Expect: 100-continue` pause before larger bodies.
        headers = curl_slist_append(headers, "Expect:")
        defer { curl_slist_free_all(headers) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let code: CURLcode = request.body.withUnsafeBytes { body in
            errorBuffer.withUnsafeMutableBufferPointer { errors in
                sb_curl_setopt_pointer(handle, CURLOPT_URL, request.url)
                if let socket = request.unixSocket { sb_curl_setopt_pointer(handle, CURLOPT_UNIX_SOCKET_PATH, socket) }
                sb_curl_setopt_pointer(handle, CURLOPT_PROTOCOLS_STR, "http,https")
                sb_curl_setopt_pointer(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
                sb_curl_setopt_pointer(handle, CURLOPT_USERAGENT, userAgent)
                sb_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headers)
                sb_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
                sb_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
                // The path goes as given: curl would otherwise squash `/../` and `/./`, and an S3
                // key such as `a/../dumps/x` (any object name is allowed) would reach another key.
                sb_curl_setopt_long(handle, CURLOPT_PATH_AS_IS, 1)
                sb_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, request.timeout.curlMilliseconds)
                sb_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, connectTimeout.curlMilliseconds)
                // Aircall's short URLs and Chatwoot's attachment URLs redirect to the file.
                sb_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1)
                sb_curl_setopt_long(handle, CURLOPT_MAXREDIRS, 5)
                sb_curl_setopt_pointer(handle, CURLOPT_ACCEPT_ENCODING, "")
                switch request.method {
                case "GET":
                    sb_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
                case "HEAD":
                    sb_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
                default:
                    sb_curl_setopt_pointer(handle, CURLOPT_CUSTOMREQUEST, request.method)
                    if Self.sendsBody(request) {
                        sb_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, body.baseAddress ?? UnsafeRawPointer(bitPattern: 1))
                        sb_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                    }
                }
                sb_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, writeBody)
                sb_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
                sb_curl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, readHeader)
                sb_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
                sb_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
                sb_curl_setopt_progress_callback(handle, checkCancelled)
                sb_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context)
                return curl_easy_perform(handle)
            }
        }
        withExtendedLifetime(sink) {}
        guard code == CURLE_OK else {
            if sink.tooLarge { throw HTTPFailure(kind: .responseTooLarge(limit: request.maxResponseBytes), request: described, detail: "") }
            if transfer.cancelled.isSet { throw HTTPFailure(kind: .cancelled, request: described, detail: "") }
            if code == CURLE_UNSUPPORTED_PROTOCOL {
                throw HTTPFailure(kind: .refusedURL, request: described, detail: "a redirect to another scheme")
            }
            let message = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw HTTPFailure(
                kind: .transport, request: described, detail: message.isEmpty ? String(cString: curl_easy_strerror(code)) : message)
        }
        var status = 0
        sb_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPClient.Response(status: status, headers: sink.headers, body: sink.body)
    }
}

/// Where one transfer's answer accumulates; touched only by the worker thread during the transfer.
final class ResponseSink {
    let limit: Int
    let cancelled: CancellationFlag
    /// A download's stream, for a 2xx body; other answers are collected in `body`.
    let stream: BodyStream?
    let handle: UnsafeMutableRawPointer
    var body: [UInt8] = []
    var headers: [(String, String)] = []
    var tooLarge = false

    init(limit: Int, cancelled: CancellationFlag, stream: BodyStream?, handle: UnsafeMutableRawPointer) {
        self.limit = limit
        self.cancelled = cancelled
        self.stream = stream
        self.handle = handle
    }

    /// True once the status line of a 2xx answer has come (a redirect's is followed, not streamed).
    var streaming: Bool {
        guard stream != nil else { return false }
        var status = 0
        sb_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return (200..<300).contains(status)
    }
}

private func sink(_ context: UnsafeMutableRawPointer?) -> ResponseSink {
    Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
}

/// Appends body bytes; past the limit, answers 0, which makes curl abort the transfer.
private let writeBody: sb_curl_data_callback = { data, size, count, context in
    let response = sink(context)
    let length = size * count
    if response.streaming {
        guard let data else { return length }
        return response.stream!.write(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
    }
    guard response.body.count + length <= response.limit else {
        response.tooLarge = true
        return 0
    }
    if let data { response.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length)) }
    return length
}

/// One header line at a time; a new status line (a redirect, a 100 Continue) starts the list over.
private let readHeader: sb_curl_data_callback = { data, size, count, context in
    let response = sink(context)
    let length = size * count
    guard let data else { return length }
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        response.headers.removeAll()
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        response.headers.append((name, value))
    }
    return length
}

/// Called often during a transfer; a non-zero answer aborts it (the caller's task was cancelled).
private let checkCancelled: sb_curl_progress_callback = { context, _, _, _, _ in
    sink(context).cancelled.isSet ? 1 : 0
}
