import Queue
import Redis

/// Job kinds that do no real work, for operators smoke-testing a deployment and for our own tests
/// and benchmarks. They run on the `diagnostics` queue unless enqueued elsewhere.
public enum Diagnostics {
    public static let queue = "diagnostics"

    /// `noop`: succeeds at once.
    public static let noop = JobDefinition(
        kind: "noop", queue: queue, retry: .exponentialJitter(maxAttempts: 3), timeout: .seconds(10), payload: Empty.self
    ) { _, _ in .done }

    /// `sleep {"ms": N, "record": "KEY"}`: waits N milliseconds (cancellable), then succeeds. With
    /// `record`, each completed run adds 1 to the job id's field of the hash KEY (`HINCRBY`), so a
    /// test or an operator can see which jobs ran and how often.
    public static let sleep = JobDefinition(
        kind: "sleep", queue: queue, retry: .exponentialJitter(maxAttempts: 3), timeout: .seconds(60), payload: SleepPayload.self
    ) { payload, context in
        try await Task.sleep(for: .milliseconds(payload.ms))
        if let key = payload.record {
            try await context.redis.send("HINCRBY", key, context.id, "1")
        }
        return .done
    }

    /// `fail {"times": N, "permanent": false}`: fails its first N attempts (every attempt without
    /// `times`); with `"permanent": true` the failure is permanent and dead-letters at once.
    public static let fail = JobDefinition(
        kind: "fail", queue: queue, retry: .exponentialJitter(maxAttempts: 4, base: .milliseconds(200), cap: .seconds(5)),
        timeout: .seconds(10), payload: FailPayload.self
    ) { payload, context in
        if payload.permanent == true {
            throw JobFailure.permanent("diagnostic permanent failure (attempt \(context.attempt))")
        }
        if let times = payload.times, context.attempt > times { return .done }
        throw JobFailure.retryable("diagnostic failure on attempt \(context.attempt)")
    }

    /// `incr {"key": K}`: one INCR on Redis, the same job body the peers' benchmark runs.
    public static let incr = JobDefinition(
        kind: "incr", queue: queue, retry: .exponentialJitter(maxAttempts: 3), timeout: .seconds(10), payload: IncrPayload.self
    ) { payload, context in
        try await context.redis.send("INCR", payload.key)
        return .done
    }

    /// `crash`: kills its own consumer process (SIGKILL), to exercise crash recovery and the poison
    /// limit. Refused (a permanent failure) unless the consumer runs with
    /// `SWITCHBOARD_ALLOW_CRASH_JOBS=1`, so a stray `crash` job cannot take a production consumer down.
    public static func crash(allowed: Bool) -> JobDefinition {
        JobDefinition(kind: "crash", queue: queue, retry: .once, timeout: .seconds(10), payload: Empty.self) { _, _ in
            guard allowed else {
                throw JobFailure.permanent("crash jobs are disabled (set SWITCHBOARD_ALLOW_CRASH_JOBS=1 on the consumer)")
            }
            kill(getpid(), SIGKILL)
            return .done
        }
    }

    /// Whether the settings allow `crash` to kill its consumer (`SWITCHBOARD_ALLOW_CRASH_JOBS=1`).
    public static func crashAllowed(_ environment: [String: String]) -> Bool {
        environment["SWITCHBOARD_ALLOW_CRASH_JOBS"] == "1"
    }

    /// The kinds' names, whether or not `crash` is allowed in this process.
    public static let kinds = all(allowCrash: true).map(\.kind)

    public static func all(allowCrash: Bool) -> [JobDefinition] {
        [noop, sleep, fail, incr, crash(allowed: allowCrash)]
    }

    public struct Empty: Decodable, Sendable {}

    public struct SleepPayload: Decodable, Sendable {
        public var ms: Int
        public var record: String?
    }

    public struct FailPayload: Decodable, Sendable {
        public var times: Int?
        public var permanent: Bool?
    }

    public struct IncrPayload: Decodable, Sendable {
        public var key: String
    }
}

#if canImport(Glibc)
    import Glibc
#endif
