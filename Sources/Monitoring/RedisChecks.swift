import Logging
import Metrics
import Redis
import Synchronization

/// The start-up checks every role runs on its Redis: an evicting `maxmemory-policy` and a
/// persistence that loses acknowledged jobs are logged loudly, the persistence is exported as
/// `switchboard_redis_persistence{mode}` (1 for the mode in force, so an alert can watch for
/// `none`), and kept for `/readyz`'s body. Checked again on each reconnection would be nicer; at
/// start is what an operator reads when deploying.
public final class RedisChecks: Sendable {
    private let persistence = Mutex<RedisHealth.Persistence?>(nil)

    public init() {}

    /// What `/readyz` says of durability, once known.
    public var durability: String? {
        persistence.withLock { $0.map { "\($0.mode): \($0.loss)" } }
    }

    public var mode: String? { persistence.withLock { $0?.mode } }

    /// Runs the checks. Throws the Redis error when Redis refuses our credentials (no password, a
    /// wrong one): a role that cannot authenticate stops at start, so an update that brought a
    /// wrong secret fails its health and rolls back, instead of running on and logging. A Redis
    /// that cannot be reached yet is left to the role's reconnecting, its settings unchecked: a
    /// stalled one would make each further check wait out the command timeout before the role starts.
    public func run(_ client: RedisClient, logger: Logger) async throws {
        guard try await Self.answers(client) else {
            logger.warning("Redis does not answer at start; its eviction and durability settings go unchecked")
            return
        }
        if let warning = try? await RedisHealth.evictionWarning(client) {
            logger.critical("\(warning)")
        }
        guard let found = try? await RedisHealth.persistence(client) else { return }
        persistence.withLock { $0 = found }
        Gauge(label: "switchboard_redis_persistence", dimensions: [("mode", found.mode)]).record(1)
        logger.log(level: found.severity, "Redis durability: \(found.loss)", metadata: ["redis.persistence": "\(found.mode)"])
    }

    /// Whether Redis answers a PING at all; throws when it refuses our credentials.
    private static func answers(_ client: RedisClient) async throws -> Bool {
        do {
            _ = try await client.send("PING")
            return true
        } catch let error as RedisError where error.isAuthenticationProblem {
            if case .server = error { throw RedisError.connectFailed(endpoint: client.endpoint.description, reason: error.description) }
            throw error
        } catch let error as RedisError where error.isConnectionProblem {
            return false
        } catch {
            // Redis answered, if only with an error (LOADING after a restart): the checks can read it.
            return true
        }
    }
}
