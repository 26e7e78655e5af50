import Hummingbird
import Queue

/// The producer's answers: small JSON bodies a sender's logs can show and a script can parse.
/// Errors say what is wrong with the request; a 401 says nothing more than that.
enum APIResponse {
    static func json(_ status: HTTPResponse.Status, _ body: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// The job that starts a flow is the flow's id too: `switchboard trace` takes either.
    static func accepted(jobID: String) -> Response {
        json(.accepted, "{\"job_id\":\(JSONString.quote(jobID)),\"flow_id\":\(JSONString.quote(jobID))}\n")
    }

    static func duplicate(jobID: String) -> Response {
        json(.ok, "{\"job_id\":\(JSONString.quote(jobID)),\"flow_id\":\(JSONString.quote(jobID)),\"duplicate\":true}\n")
    }

    static func ignored(_ reason: String) -> Response {
        json(.ok, "{\"ignored\":\(JSONString.quote(reason))}\n")
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, field: String? = nil, headers: HTTPFields = [:]) -> Response {
        let fieldPart = field.map { ",\"field\":\(JSONString.quote($0))" } ?? ""
        return json(status, "{\"error\":\(JSONString.quote(message))\(fieldPart)}\n", headers: headers)
    }

    static let unauthorized = error(.unauthorized, "unauthorized")

    /// 503 with `Retry-After`: the sender keeps the delivery and tries again; nothing is lost.
    /// (`status` for a sender that retries on other codes only.)
    static func retryLater(_ message: String, seconds: Int, status: HTTPResponse.Status = .serviceUnavailable) -> Response {
        error(status, message, headers: [.retryAfter: String(seconds)])
    }
}
