import Logging
import Redis

/// The worker loop of a consumer: takes free slots, fills them — with deliveries Redis made to this
/// consumer that never reached it, then stale entries of dead consumers, then new entries of each
/// queue in turn — and starts a task per entry that runs the job and writes its outcome. Stops
/// reading when the consumer stops; the caller's task group then waits for the jobs already started.
///
/// All the process's queues are waited on with one blocking XREADGROUP over their streams, on a
/// connection of its own, so an idle queue holds no slot and no connection while it waits, and a
/// job on any queue starts as soon as it arrives.
///
/// When a read or a claim fails, its reply may have been lost after Redis had already handed the
/// entries over: they sit in this consumer's pending list, delivered to nobody. The next pass reads
/// them back first (`Broker.recover`, which leaves their delivery count alone), as asynq and BullMQ
/// do, instead of leaving them a whole visibility timeout and a poison count behind.
struct Fetcher: Sendable {
    let queues: [String]
    let broker: Broker
    let configuration: ConsumerConfiguration
    let runner: JobRunner
    let writer: OutcomeWriter
    let limit: ConcurrencyLimit
    let metrics: QueueMetrics
    let inFlight: InFlightEntries
    let visibilityTimeout: @Sendable (String) -> Duration
    let logger: Logger

    private var consumer: String { configuration.consumerName }

    /// What the loop knows between passes.
    private struct Passes {
        var groupReady: Set<String> = []
        /// Queues whose last read or claim failed: their lost deliveries are read back first.
        var lost: Set<String> = []
        var rotation = 0
    }

    func run(stopping: StopSignal) async {
        let client = RedisClient(endpoint: broker.pool.endpoint, name: "fetch", logger: logger)
        defer { client.close() }
        var reclaimers: [String: Reclaimer] = [:]
        for queue in queues {
            reclaimers[queue] = Reclaimer(
                broker: broker, queue: queue, consumer: consumer, visibilityTimeout: visibilityTimeout(queue),
                poisonLimit: configuration.poisonLimit, metrics: metrics, logger: logger)
        }
        var passes = Passes()
        var paused = PausedQueues(broker: broker)
        var backoff = Backoff()
        defer { writer.acks.fetcherStopped() }
        await withDiscardingTaskGroup { jobs in
            while stopping.goOn {
                // Whatever this loop waits on — slots, a blocking read, a nap — it first lets the
                // acknowledger write what was left for this read to carry.
                writer.acks.fetcherPassed()
                let slots = await limit.acquire(upTo: min(configuration.concurrency, 1000))
                if slots == 0 { break }
                var taken: [(queue: String, entry: StreamEntry)] = []
                var failure: (any Error)?
                var idle = false
                // Which queues a failing call was reading: their deliveries may have been lost.
                var reading: [String] = []
                do {
                    let active = try await paused.active(queues)
                    if active.isEmpty {
                        idle = true
                    } else {
                        for queue in active where !passes.groupReady.contains(queue) {
                            try await broker.ensureGroup(queue, consumer: consumer)
                            passes.groupReady.insert(queue)
                        }
                        for queue in active where passes.lost.contains(queue) && taken.count < slots && stopping.goOn {
                            reading = [queue]
                            let want = slots - taken.count
                            let found = try await broker.recover(
                                queue, consumer: consumer, count: want, running: inFlight.running(in: queue))
                            if found.count < want { passes.lost.remove(queue) }
                            if !found.isEmpty {
                                logger.notice(
                                    "read back deliveries that never arrived", metadata: ["queue": "\(queue)", "jobs": "\(found.count)"])
                            }
                            taken += found.map { (queue, $0) }
                        }
                        for queue in active where reclaimers[queue]!.isDue && taken.count < slots && stopping.goOn {
                            reading = [queue]
                            taken += try await reclaimers[queue]!.claim(count: slots - taken.count).map { (queue, $0) }
                        }
                        passes.rotation &+= 1
                        let start = passes.rotation % active.count
                        var carry = true
                        for queue in active[start...] + active[..<start] where taken.count < slots && stopping.goOn {
                            reading = [queue]
                            let count = slots - taken.count
                            let read =
                                carry
                                ? try await readCarryingAcks(queue, count: count, on: client)
                                : try await broker.read(queue, consumer: consumer, count: count, block: nil, on: client)
                            carry = false
                            taken += read.map { (queue, $0) }
                        }
                        writer.acks.fetcherPassed()
                        if taken.isEmpty && stopping.goOn {
                            reading = active
                            taken = try await broker.read(active, consumer: consumer, count: 1, block: configuration.fetchBlock, on: client)
                        }
                    }
                    backoff.reset()
                } catch {
                    failure = error
                    if let error = error as? RedisError, error.serverCode == "NOGROUP" { passes.groupReady.subtract(reading) }
                    passes.lost.formUnion(reading)
                    logger.warning("fetching jobs failed", metadata: ["queues": "\(reading.joined(separator: ","))", "error": "\(error)"])
                }
                writer.acks.fetcherPassed()
                // Held from here on: the heartbeat renews them even while they wait for a slot.
                for queue in Set(taken.lazy.map(\.queue)) {
                    inFlight.started(queue, taken.lazy.filter { $0.queue == queue }.map(\.entry.id))
                }
                if taken.count < slots {
                    limit.release(slots - taken.count)
                } else if taken.count > slots {
                    // One blocking read over several queues can bring one entry from each; a read
                    // carrying acknowledgements brings entries for their slots.
                    guard await limit.acquire(exactly: taken.count - slots) else {
                        await giveBack(taken[slots...])
                        taken.removeLast(taken.count - slots)
                        start(taken, in: &jobs)
                        break
                    }
                }
                writer.acks.fetcherPassed()
                start(taken, in: &jobs)
                if failure != nil {
                    guard await stopping.nap(backoff.nextDelay()) else { break }
                } else if idle {
                    guard await stopping.nap(PausedQueues.interval) else { break }
                }
            }
        }
    }

    /// Reads up to `count` entries of `queue`, plus one for each acknowledgement waiting to be
    /// written, which go ahead of the read in the same round trip: their slots are free again by
    /// the time Redis reads. (Written on their own, then read, each cycle took two round trips —
    /// at low concurrency most of a job's cost.) Entries beyond the slots held wait for the slots
    /// of acknowledgements that failed, as any overflow does.
    private func readCarryingAcks(_ queue: String, count: Int, on client: RedisClient) async throws -> [StreamEntry] {
        let acks = writer.acks
        let (batch, carried) = acks.takeWaiting()
        guard carried > 0 else { return try await broker.read(queue, consumer: consumer, count: count, block: nil, on: client) }
        do {
            let read = try await broker.readCarrying(batch, queue: queue, consumer: consumer, count: count + carried, on: client)
            acks.carried(batch, outcome: read.acknowledged)
            return read.entries
        } catch {
            acks.giveBack(batch)
            throw error
        }
    }

    private func start(_ taken: [(queue: String, entry: StreamEntry)], in jobs: inout DiscardingTaskGroup) {
        for (queue, entry) in taken {
            let queueMetrics = metrics.queue(queue)
            jobs.addTask {
                let ran = await runner.run(entry, queue: queue)
                queueMetrics.duration(kind: ran.kind, nanoseconds: ran.nanoseconds)
                let milliseconds = UInt64(max(ran.nanoseconds, 0) / 1_000_000)
                if ran.timedOut {
                    // The watchdog cancelled this task; the outcome (and a dead letter's note to
                    // the agents) must not be cut short with it.
                    await Task {
                        await writer.write(ran.outcome, entryID: entry.id, queue: queue, envelope: ran.envelope, milliseconds: milliseconds)
                    }.value
                } else {
                    await writer.write(ran.outcome, entryID: entry.id, queue: queue, envelope: ran.envelope, milliseconds: milliseconds)
                }
            }
        }
    }

    /// Entries read but never to be run here (the consumer was cancelled while waiting for room):
    /// claimable by any replica at once.
    private func giveBack(_ entries: ArraySlice<(queue: String, entry: StreamEntry)>) async {
        for (queue, entry) in entries {
            _ = try? await broker.release(queue, consumer: consumer, entryIDs: [entry.id], visibilityTimeout: visibilityTimeout(queue))
            inFlight.settled(queue, [entry.id])
        }
    }
}
