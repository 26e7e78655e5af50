import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import Services

/// Renders a page's template inside the layout, or alone when the console's script asks for the
/// page's data only (`X-Console-Fragment: 1`), with the headers every page carries: no caching,
/// no framing, scripts and styles from this console only.
struct PageRenderer: Sendable {
    let library: MustacheLibrary

    init() {
        var library = MustacheLibrary()
        let templates: [(String, String)] = [
            ("layout", Templates.layout), ("overview", Templates.overview), ("queue", Templates.queue), ("dead", Templates.dead),
            ("letter", Templates.letter), ("schedules", Templates.schedules), ("trace", Templates.trace),
            ("consumers", Templates.consumers), ("knowledge", Templates.knowledge), ("trial", Templates.trial),
            ("privacy", Templates.privacy), ("privacyRun", Templates.privacyRun),
            ("flows", Templates.flows), ("audit", Templates.audit), ("login", Templates.login), ("problem", Templates.problem),
        ]
        for (name, text) in templates {
            // The templates are ours and compiled in: one that does not parse is a bug the tests catch at once.
            try! library.register(text, named: name)
        }
        self.library = library
    }

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        .xContentTypeOptions: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        .cacheControl: "no-store",
    ]

    /// `page` rendered with `context`, in the layout unless `fragment`.
    func render(
        _ page: String, _ context: [String: Any], title: String, nav: String?, visitor: ConsoleAccess.Visitor?,
        live: Int? = nil, flash: (kind: String, text: String)? = nil, fragment: Bool = false,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var context = Self.withLinkForms(context)
        if let visitor { context["canAct"] = visitor.role == .operator; context["csrf"] = visitor.csrf ?? "" }
        let body = library.render(context, withTemplate: page) ?? ""
        if fragment { return html(body, status: status) }
        var layout: [String: Any] = ["title": title, "body": body, "nav": nav.map { [$0: true] } ?? [:]]
        if let visitor {
            layout["visitor"] = [
                "name": visitor.name, "role": visitor.role.rawValue, "csrf": visitor.csrf ?? "", "canSignOut": visitor.session != nil,
            ]
        }
        layout["operator"] = visitor?.role == .operator
        if let live { layout["live"] = live }
        if let flash { layout["flash"] = ["kind": flash.kind, "text": flash.text] }
        return html(library.render(layout, withTemplate: "layout") ?? "", status: status)
    }

    /// The texts links carry (`name`, `queue`, `id`, `flow`, `job`, `letter`, `entry`), each also
    /// percent-encoded beside it (`nameURL`…), which the templates put in `href` and `action`: a
    /// queue named `a/b`, or an id holding `&` or `#`, links to itself.
    static func withLinkForms(_ context: [String: Any]) -> [String: Any] {
        var result = context
        for (key, value) in context {
            if let text = value as? String, linked.contains(key) {
                result[key + "URL"] = PercentEncoding.component(text)
            } else if let nested = value as? [String: Any] {
                result[key] = withLinkForms(nested)
            } else if let rows = value as? [[String: Any]] {
                result[key] = rows.map(withLinkForms)
            }
        }
        return result
    }

    static let linked: Set<String> = ["name", "queue", "id", "flow", "job", "letter", "entry"]

    func login(message: String?, next: String, openID: String?, token: Bool, status: HTTPResponse.Status = .ok) -> Response {
        var context: [String: Any] = ["next": next, "token": token]
        if let message { context["message"] = message }
        if let openID { context["openID"] = true; context["provider"] = openID }
        return html(library.render(context, withTemplate: "login") ?? "", status: status)
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
