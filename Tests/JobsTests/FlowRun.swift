import Jobs
import Logging
import Queue
import Redis
import TestSupport
import Testing

/// Runs the real consumer on a flow's queues until no stage holds any work: nothing in a stream,
/// nothing pending, nothing waiting to be retried. Then every side effect the flow will ever have
/// has happened, and tests can count them.
enum FlowRun {
    static func untilIdle(_ queues: [String], services: FlowServices, broker: Broker, pool: RedisPool) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let consumer = StreamConsumer(
            configuration: ConsumerConfiguration(
                queues: queues, concurrency: 4, promoteInterval: .milliseconds(50), fetchBlock: .milliseconds(100)),
            registry: Catalogue.registry(flows: services), broker: broker, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            let idle = await eventually(timeout: .seconds(30)) {
                var idle = true
                for queue in queues {
                    let length = try? await pool.send("XLEN", broker.keys.stream(queue)).integer
                    let pending = try? await pool.send("XPENDING", broker.keys.stream(queue), "workers").array?.first?.integer
                    let delayed = try? await pool.send("ZCARD", broker.keys.delayed(queue)).integer
                    idle = idle && (length ?? 0) == 0 && (pending ?? 0) == 0 && delayed == 0
                }
                return idle
            }
            consumer.stop()
            try await group.waitForAll()
            #expect(idle, "the flow settled")
        }
    }
}
