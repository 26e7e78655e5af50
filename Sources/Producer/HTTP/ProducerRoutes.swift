import Blobs
import HTTPTypes
import Hummingbird
import Jobs
import Logging
import Metrics
import Monitoring
import Prometheus
import Queue
import Services

/// The producer's HTTP surface: the webhook and upload routes, `/healthz`, `/readyz`, `/metrics`,
/// and a 405 with `Allow` for a known path asked with the wrong method.
///
/// Every ingress route runs the same steps — content type (415), bounded body (413), verification
/// over the raw bytes (401), parsing (400), then one atomic dedupe-and-enqueue — and answers 202
/// only after Redis has the job, 200 for a duplicate or an event that starts nothing, and 503 with
/// `Retry-After` when Redis is down or the queue is full, so the sender keeps the delivery.
struct ProducerRoutes: Sendable {
    let configuration: ProducerConfiguration
    let ingress: Ingress
    let aircall: AircallWebhook?
    let guesty: GuestyWebhook?
    let chatwoot: ChatwootWebhook
    let voice: VoiceUpload?
    let checks: RedisChecks
    let drain: DrainState

    init(configuration: ProducerConfiguration, ingress: Ingress, blobs: BlobStore, checks: RedisChecks, drain: DrainState) throws {
        self.checks = checks
        self.drain = drain
        self.configuration = configuration
        self.ingress = ingress
        // An empty credential is no credential: its route is not served (or, for Chatwoot, unsigned).
        func set(_ value: String?) -> String? { value?.isEmpty == false ? value : nil }
        aircall = set(configuration.aircallToken).map(AircallWebhook.init(token:))
        guesty = try set(configuration.guestySecret).map { try GuestyWebhook(secret: $0) }
        chatwoot = ChatwootWebhook(
            secrets: [set(configuration.chatwootSecret), set(configuration.chatwootBotSecret)].compactMap { $0 },
            turn: configuration.assistantTurn, teamInboxes: configuration.assistantInboxes,
            staffInboxes: configuration.staffInboxes, handle: configuration.assistantHandle)
        voice = set(configuration.voiceUploadToken).map {
            VoiceUpload(token: SecretToken($0), blobs: blobs, limit: configuration.audioLimit)
        }
    }

    /// The routes this configuration serves, for the start-up log line.
    var served: [String] {
        ["/webhooks/chatwoot"] + (aircall == nil ? [] : ["/webhooks/aircall"]) + (guesty == nil ? [] : ["/webhooks/guesty"])
            + (voice == nil ? [] : ["/voice"])
    }

    func router(metrics: PrometheusCollectorRegistry) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestMetrics())
        var posts: [String] = ["/webhooks/chatwoot"]
        router.post("/webhooks/chatwoot") { request, context in
            await webhook(request, context, source: "chatwoot") { body in
                try chatwoot.delivery(
                    signature: request.headers[HTTPField.Name("X-Chatwoot-Signature")!],
                    timestamp: request.headers[HTTPField.Name("X-Chatwoot-Timestamp")!], body: body)
            }
        }
        if let aircall {
            posts.append("/webhooks/aircall")
            router.post("/webhooks/aircall") { request, context in
                await webhook(request, context, source: "aircall") { body in try aircall.delivery(body: body) }
            }
        }
        if let guesty {
            posts.append("/webhooks/guesty")
            router.post("/webhooks/guesty") { request, context in
                await webhook(request, context, source: "guesty") { body in
                    try guesty.delivery(headers: SvixHeaders { name in HTTPField.Name(name).flatMap { request.headers[$0] } }, body: body)
                }
            }
        }
        if let voice {
            posts.append("/voice")
            router.post("/voice") { request, context in await upload(request, context, voice) }
        }
        router.get("/healthz") { _, _ in APIResponse.json(.ok, "{\"status\":\"ok\"}\n") }
        router.get("/readyz") { _, _ in
            if drain.isDraining { return APIResponse.retryLater("draining: this producer is stopping", seconds: 1) }
            guard await ingress.ready() else {
                return APIResponse.retryLater("redis unreachable or not accepting writes", seconds: configuration.unavailableRetryAfter)
            }
            let durability = checks.durability.map { ",\"durability\":\(JSONString.quote($0))" } ?? ""
            return APIResponse.json(.ok, "{\"status\":\"ready\"\(durability)}\n")
        }
        router.get("/metrics") { _, _ in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16 << 10)
            metrics.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        for path in posts { Self.refuseOtherMethods(router, path, allow: .post) }
        for path in ["/healthz", "/readyz", "/metrics"] { Self.refuseOtherMethods(router, path, allow: .get) }
        return router
    }

    private static func refuseOtherMethods(_ router: Router<BasicRequestContext>, _ path: String, allow: HTTPRequest.Method) {
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] where method != allow {
            router.on(RouterPath(path), method: method) { _, _ in
                APIResponse.error(.methodNotAllowed, "use \(allow.rawValue)", headers: [.allow: allow.rawValue])
            }
        }
    }

    // MARK: Handlers

    private func webhook(
        _ request: Request, _ context: BasicRequestContext, source: String,
        parse: ([UInt8]) throws -> Delivery
    ) async -> Response {
        // The source goes on each line rather than into the logger: setting logger metadata costs
        // a copy and a re-render per request, most of which log nothing.
        let logger = context.logger
        let delivery: Delivery
        do {
            let body = try await RequestBody.json(request, limit: configuration.jsonLimit)
            delivery = try parse(body)
        } catch {
            return refusal(error, source: source, logger: logger)
        }
        switch delivery {
        case .ignore(let reason):
            count(source, "ignored")
            logger.log(
                level: configuration.logIgnored ? .info : .debug, "delivery acknowledged and ignored",
                metadata: ["source": "\(source)", "reason": "\(reason)"])
            return APIResponse.ignored(reason)
        case .start(var job, let dedupe, let first):
            // The main job's id is the flow's: the side jobs it starts are enqueued first, in it.
            let flow = JobID.make()
            let trace = Self.traceParent(request)
            job.trace = trace
            for var side in first {
                side.job.flow = flow
                side.job.trace = trace
                // Not worth refusing the delivery for: the sender's retry (of a refused main job) brings it again.
                let outcome = await ingress.submit(side.job, dedupe: side.dedupe)
                if case .accepted(let id) = outcome {
                    logger.info(
                        "job enqueued",
                        metadata: [
                            "source": "\(source)", "flow.id": "\(flow)", "job.id": "\(id)",
                            "job.kind": "\(side.job.kind)", "queue": "\(side.job.queue)",
                        ])
                }
            }
            return answer(await ingress.submit(job, dedupe: dedupe, id: flow), job: job, source: source, logger: logger)
        }
    }

    private func upload(_ request: Request, _ context: BasicRequestContext, _ voice: VoiceUpload) async -> Response {
        let logger = context.logger
        guard voice.authorized(request) else {
            return refusal(WebhookRejection.badToken, source: "voice", logger: logger)
        }
        let stored: VoiceUpload.Stored
        let job: JobRequest
        do {
            stored = try await voice.store(request)
            job = try Jobs.Flows.voice.request(stored.message, dedupe: stored.dedupe)
        } catch {
            return refusal(error, source: "voice", logger: logger)
        }
        var traced = job
        traced.trace = Self.traceParent(request)
        let outcome = await ingress.submit(traced, dedupe: stored.dedupe)
        switch outcome {
        case .accepted:
            break
        case .unavailable(_, mayExist: true):
            // Redis may still add the job: its blob stays (an orphan is swept by retention, a
            // missing blob would lose the message), and a retry with the same Idempotency-Key is
            // answered with this job once Redis has it.
            logger.warning("upload kept: its job may have been enqueued", metadata: ["blob": "\(stored.message.audio.blob ?? "")"])
        case .duplicate, .full, .unavailable:
            await stored.discard()
        }
        return answer(outcome, job: job, source: "voice", logger: logger)
    }

    /// The caller's W3C `traceparent`, when it sent a well-formed one.
    private static func traceParent(_ request: Request) -> String? {
        request.headers[HTTPField.Name("traceparent")!].flatMap(TraceParent.init)?.description
    }

    private func answer(_ outcome: Ingress.Outcome, job: JobRequest, source: String, logger: Logger) -> Response {
        switch outcome {
        case .accepted(let id):
            count(source, "accepted")
            logger.info(
                "job enqueued",
                metadata: [
                    "source": "\(source)", "flow.id": "\(id)", "job.id": "\(id)", "job.kind": "\(job.kind)", "queue": "\(job.queue)",
                ])
            return APIResponse.accepted(jobID: id)
        case .duplicate(let id):
            count(source, "duplicate")
            logger.info(
                "duplicate delivery, nothing enqueued", metadata: ["source": "\(source)", "job.id": "\(id)", "job.kind": "\(job.kind)"])
            return APIResponse.duplicate(jobID: id)
        case .full(let queue, let length):
            count(source, "full")
            logger.warning(
                "queue at its high-water mark, delivery refused",
                metadata: ["source": "\(source)", "queue": "\(queue)", "length": "\(length)"])
            // Chatwoot retries an agent-bot delivery on 429 and 500 only; anything else hands the
            // conversation to people (docs/contracts.md §1e).
            return APIResponse.retryLater(
                "queue \(queue) is full, retry later", seconds: configuration.fullRetryAfter,
                status: source == "chatwoot" ? .tooManyRequests : .serviceUnavailable)
        case .unavailable(let reason, _):
            count(source, "unavailable")
            logger.error("enqueue failed, delivery refused", metadata: ["source": "\(source)", "error": "\(reason)"])
            return APIResponse.retryLater(
                "queue unavailable, retry later", seconds: configuration.unavailableRetryAfter,
                status: source == "chatwoot" ? .internalServerError : .serviceUnavailable)
        }
    }

    /// The answer to a refused request; the log says why, the sender of a 401 learns nothing.
    private func refusal(_ error: any Error, source: String, logger: Logger) -> Response {
        switch error {
        case let rejection as WebhookRejection:
            count(source, "unauthorized")
            logger.warning("delivery refused: not authentic", metadata: ["source": "\(source)", "reason": "\(rejection)"])
            return APIResponse.unauthorized
        case let malformed as MalformedBody:
            count(source, "malformed")
            logger.notice("delivery refused: malformed", metadata: ["source": "\(source)", "reason": "\(malformed.message)"])
            return APIResponse.error(.badRequest, malformed.message, field: malformed.field)
        case BodyRefusal.unreadable(let reason):
            // The client went away, broke the framing or was too slow: its problem, not ours.
            count(source, "unreadable")
            logger.notice("delivery refused: body not read to its end", metadata: ["source": "\(source)", "reason": "\(reason)"])
            return BodyRefusal.unreadable(reason: reason).response
        case let refusal as BodyRefusal:
            count(source, "refused")
            logger.notice("delivery refused", metadata: ["source": "\(source)", "reason": "\(refusal.response.status)"])
            return refusal.response
        case is BlobStoreError, is HTTPFailure:
            // The folder or the S3 bucket could not take the audio: the sender keeps it and retries.
            count(source, "unavailable")
            logger.error("blob store failed", metadata: ["source": "\(source)", "error": "\(error)"])
            return APIResponse.retryLater("audio could not be stored, retry later", seconds: configuration.unavailableRetryAfter)
        default:
            count(source, "failed")
            logger.error("request failed", metadata: ["source": "\(source)", "error": "\(error)"])
            return APIResponse.error(.internalServerError, "internal error")
        }
    }

    private func count(_ source: String, _ outcome: String) {
        MetricHandles.shared.counter("switchboard_ingress_total", [("source", source), ("outcome", outcome)]).increment()
    }
}
