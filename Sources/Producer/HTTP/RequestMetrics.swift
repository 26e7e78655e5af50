import Hummingbird
import Metrics
import Redis

/// Counts every request by route and status and times it (`switchboard_http_requests_total`,
/// `switchboard_http_request_duration_seconds`). The route is the matched pattern, never the raw
/// path, so a scan of random URLs cannot blow up the number of series.
struct RequestMetrics<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let status: Int
        let response: Response
        do {
            response = try await next(request, context)
            status = response.status.code
        } catch let error as any HTTPResponseError {
            record(context, status: error.status.code, since: start)
            throw error
        } catch {
            record(context, status: 500, since: start)
            throw error
        }
        record(context, status: status, since: start)
        return response
    }

    private func record(_ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let route = context.endpointPath ?? "unmatched"
        MetricHandles.shared.counter("switchboard_http_requests_total", [("route", route), ("status", String(status))]).increment()
        MetricHandles.shared.timer("switchboard_http_request_duration_seconds", [("route", route)])
            .recordNanoseconds(Int64((ContinuousClock.now - start).nanoseconds))
    }
}
