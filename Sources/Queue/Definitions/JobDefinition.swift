import Foundation
import Logging
import Redis

/// What a handler returns: finished, finished with a follow-up job (the next stage of a flow),
/// which is enqueued atomically with this job's acknowledgement, or not finished yet.
public enum JobResult: Sendable {
    case done
    case next(JobRequest)
    /// Not finished, and nothing to do until later (an action still running elsewhere): the job
    /// is put back unchanged to run again after the delay, holding no slot meanwhile, with no
    /// attempt counted. The handler bounds how long it keeps asking.
    case later(Duration)
}

/// What a handler knows about the delivery it is running.
public struct JobContext: Sendable {
    public var id: String
    public var kind: String
    public var queue: String
    public var attempt: Int
    public var maxAttempts: Int
    /// Unix milliseconds of the first enqueue.
    public var enqueuedAt: UInt64
    /// The flow this job belongs to (its own id when it started the flow).
    public var flow: String
    /// The W3C `traceparent` the job continues, if its flow came with one.
    public var trace: String?
    /// Redis connections shared with the engine, for handlers that keep state in Redis.
    public var redis: RedisPool
    let baseLogger: Logger

    /// A logger whose lines carry `flow.id`, `job.id`, `job.kind`, `queue` and `attempt` (and
    /// `trace.id` in a traced flow). Built on use, so handlers that do not log pay nothing for it.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "flow.id"] = "\(flow)"
        if let trace = trace.flatMap(TraceParent.init) { logger[metadataKey: "trace.id"] = "\(trace.traceID)" }
        logger[metadataKey: "job.id"] = "\(id)"
        logger[metadataKey: "job.kind"] = "\(kind)"
        logger[metadataKey: "queue"] = "\(queue)"
        logger[metadataKey: "attempt"] = "\(attempt)"
        return logger
    }
}

/// One kind of job: its name, default queue, retry policy, timeout and handler.
///
/// The handler receives its payload decoded from JSON into `Payload`; a payload that does not decode
/// is a permanent failure (dead-lettered at once with the decoding error), never a crash.
public struct JobDefinition: Sendable {
    public let kind: String
    public let queue: String
    public private(set) var retry: RetryPolicy
    /// How long one attempt may run before it is cancelled and counted as a retryable failure.
    public let timeout: Duration
    /// A run cut short — a shutdown past the consumer's grace period gives it back to the queue —
    /// leaves nothing half-done and simply runs again (a backup that aborts its upload). Only such
    /// a kind may have a timeout longer than a consumer's grace period.
    public let restartable: Bool
    private(set) var execute: @Sendable (String, JobContext) async throws -> JobResult
    /// Runs once a job of this kind has been dead-lettered, with its payload text and the error.
    let deadLettered: (@Sendable (String, String, RedisPool, Logger) async -> Void)?

    /// `onDeadLetter`, when given, runs after a job of this kind went to the dead letters (its
    /// letter is written first, so nothing depends on it), with the error and the engine's Redis
    /// connections: to tell a person, say, once. Its failures are logged and go no further; a
    /// payload that does not decode skips it.
    public init<Payload: Decodable & Sendable>(
        kind: String, queue: String, retry: RetryPolicy, timeout: Duration, restartable: Bool = false,
        payload: Payload.Type = Payload.self,
        onDeadLetter: (@Sendable (Payload, String, RedisPool) async throws -> Void)? = nil,
        run: @escaping @Sendable (Payload, JobContext) async throws -> JobResult
    ) {
        self.kind = kind
        self.queue = queue
        self.retry = retry
        self.timeout = timeout
        self.restartable = restartable
        let decoder = JSONDecoder()
        if let onDeadLetter {
            self.deadLettered = { @Sendable (text: String, error: String, redis: RedisPool, logger: Logger) async -> Void in
                guard let payload = try? decoder.decode(Payload.self, borrowing: text) else { return }
                do {
                    try await onDeadLetter(payload, error, redis)
                } catch {
                    logger.warning("after-dead-letter step failed", metadata: ["job.kind": "\(kind)", "error": "\(error)"])
                }
            }
        } else {
            self.deadLettered = nil
        }
        self.execute = { text, context in
            let payload: Payload
            do {
                payload = try decoder.decode(Payload.self, borrowing: text)
            } catch {
                throw JobFailure.permanent("undecodable payload for kind '\(kind)': \(PayloadDecodingError.describe(error))")
            }
            return try await run(payload, context)
        }
    }

    /// The same kind with another retry policy (an operator's setting).
    public func retrying(_ policy: RetryPolicy) -> JobDefinition {
        var copy = self
        copy.retry = policy
        return copy
    }

    /// The same kind, dead-lettered once held back by limits for longer than `bound`.
    public func givingUp(after bound: Duration) -> JobDefinition {
        retrying(retry.holdingBack(atMost: bound))
    }

    /// The same kind, its handler run inside `wrapper` (which calls `run` once): to set what the
    /// handler's calls see (a task-local) or to translate another layer's errors into `JobFailure`s.
    public func running(
        within wrapper: @escaping @Sendable (JobContext, _ run: @Sendable () async throws -> JobResult) async throws -> JobResult
    ) -> JobDefinition {
        var copy = self
        let inner = execute
        copy.execute = { text, context in try await wrapper(context) { try await inner(text, context) } }
        return copy
    }

    /// The envelope's `max_attempts` for new jobs of this kind.
    public func request(payload: String, queue: String? = nil, dedupe: String? = nil, trace: String? = nil) -> JobRequest {
        JobRequest(queue: queue ?? self.queue, kind: kind, payload: payload, maxAttempts: retry.maxAttempts, dedupe: dedupe, trace: trace)
    }
}

/// Short, operator-readable text for a JSON decoding error.
enum PayloadDecodingError {
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let text = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return text.isEmpty ? "payload" : text
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field '\(key.stringValue)' at \(path(context))"
        case .typeMismatch(let type, let context): return "\(path(context)) is not \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)) is null, expected \(type)"
        case .dataCorrupted(let context): return "not valid JSON at \(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
