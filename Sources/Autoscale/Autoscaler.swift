import Foundation
import Logging
import Metrics
import Queue
import Redis
import ServiceLifecycle
import Synchronization

/// `switchboard autoscale`: every interval, the replica holding the autoscaler's lease reads each
/// labelled service's queues and sets its replicas as `ScalingDecision` says, through the Docker
/// Engine — one decision-maker at a time, whatever the number of replicas.
///
/// Guarantees: no decision while Redis cannot be read or the Engine does not answer (each waited
/// for with a bound, logged, tried again at the next interval — never in a tight loop); never
/// outside a service's `min` and `max`; a service whose rolling update is under way (a redeploy)
/// is left to it and decided again once it is done — a redeploy's replica count stands until the
/// next decision, which follows the queues, not the stack file; a service removed or renamed is
/// dropped from the decisions at the next listing; a service whose labels are wrong is skipped
/// with its reason logged (at start, the autoscaler refuses to run). Each decision is logged with
/// its reason and counted, and the state of every service kept in Redis for the console.
public final class Autoscaler: Service, Sendable {
    public struct Configuration: Sendable {
        /// This replica's name in the lease.
        public var name: String
        public var interval: Duration
        public var lease: Duration
        /// Only services of this stack (`com.docker.stack.namespace`); nil: every labelled service.
        public var namespace: String?
        /// Decide and log, change nothing.
        public var dryRun: Bool

        public init(
            name: String, interval: Duration = .seconds(10), lease: Duration = .seconds(30), namespace: String?, dryRun: Bool = false
        ) {
            self.name = name
            self.interval = interval
            self.lease = lease
            self.namespace = namespace
            self.dryRun = dryRun
        }
    }

    /// What the autoscaler remembers of a service between intervals.
    struct Memory: Sendable {
        var idleSince: UInt64?
        var changedAt: UInt64
        var problem: String?
    }

    let configuration: Configuration
    let broker: Broker
    let engine: DockerEngine
    let known: [String]
    let logger: Logger
    private let stopping = StopSignal()
    private let memory = Mutex([String: Memory]())

    public init(configuration: Configuration, broker: Broker, engine: DockerEngine, known: [String], logger: Logger) {
        self.configuration = configuration
        self.broker = broker
        self.engine = engine
        self.known = known
        self.logger = logger
    }

    /// The labelled services' rules, read once at start: throws naming the first service whose
    /// labels are wrong, or saying that the Engine did not answer.
    public func check() async throws -> [ScalingRules] {
        let services = try await engine.services(label: ScalingRules.marker, namespace: configuration.namespace)
        return try services.map { try ScalingRules.read(service: $0.name, labels: $0.labels, known: known) }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.work()
        } onGracefulShutdown: {
            self.stopping.raise()
        }
    }

    public func stop() { stopping.raise() }

    func work() async {
        repeat {
            await step()
        } while await stopping.nap(configuration.interval)
        try? await broker.releaseLease(broker.keys.autoscaleLeader, owner: configuration.name)
    }

    /// One interval: the lease, the services, the queues, the decisions.
    public func step(now: UInt64 = WallClock.unixMilliseconds()) async {
        let holds: Bool
        do {
            holds = try await broker.holdLease(broker.keys.autoscaleLeader, owner: configuration.name, lease: configuration.lease)
        } catch {
            logger.warning("no decision: Redis cannot be read", metadata: ["error": "\(error)"])
            return
        }
        Gauge(label: "switchboard_autoscale_leader").record(holds ? 1 : 0)
        guard holds else { return }
        let services: [DockerEngine.Service]
        do {
            services = try await engine.services(label: ScalingRules.marker, namespace: configuration.namespace)
        } catch {
            logger.warning("no decision: the Docker Engine did not answer", metadata: ["engine": "\(engine.host)", "error": "\(error)"])
            return
        }
        var ruled: [(DockerEngine.Service, ScalingRules)] = []
        for service in services {
            do {
                ruled.append((service, try ScalingRules.read(service: service.name, labels: service.labels, known: known)))
                remember(service.name) { $0.problem = nil }
            } catch {
                let said = "\(error)"
                if remember(
                    service.name,
                    { memory in
                        defer { memory.problem = said }; return memory.problem != said
                    })
                {
                    logger.error(
                        "service skipped: its autoscaling labels are wrong", metadata: ["service": "\(service.name)", "error": "\(said)"])
                }
            }
        }
        // A service no longer listed (removed, renamed, its labels taken off) is forgotten.
        let listed = Set(services.map(\.name))
        memory.withLock { $0 = $0.filter { listed.contains($0.key) } }
        let queues = Array(Set(ruled.flatMap(\.1.queues))).sorted()
        let gauges: [String: Inspector.Gauges]
        let rates: [String: [(processed: Int, failed: Int)]]
        do {
            let inspector = Inspector(broker: broker)
            gauges = Dictionary(try await inspector.gauges(queues, now: now).map { ($0.queue, $0) }, uniquingKeysWith: { _, last in last })
            rates = try await inspector.perMinute(queues, minutes: 2, now: now)
        } catch {
            logger.warning("no decision: the queues cannot be read", metadata: ["error": "\(error)"])
            return
        }
        var states: [AutoscaleState.Service] = []
        for (service, rules) in ruled {
            guard let current = service.replicas else {
                logger.error("service skipped: it is global, not scaled by replicas", metadata: ["service": "\(service.name)"])
                continue
            }
            let load = Self.load(rules.queues, gauges: gauges, rates: rates)
            var state = AutoscaleState.Service(
                service: service.name, current: current, wanted: current, minimum: rules.minimum, maximum: rules.maximum,
                queues: rules.queues, reason: ScalingDecision.Reason.steady.rawValue, waiting: load.waiting,
                oldestWaiting: load.oldestWaiting)
            defer { states.append(state) }
            let memory = remember(service.name) { memory -> Memory in
                if load.busy { memory.idleSince = nil } else if memory.idleSince == nil { memory.idleSince = now }
                return memory
            }
            if let update = service.updateState, update == "updating" || update.hasPrefix("rollback") {
                state.reason = "rolling update under way"
                continue
            }
            let decision = ScalingDecision.decide(
                rules, current: current, load: load, idleFor: memory.idleSince.map { Int(now - min($0, now)) } ?? 0,
                sinceChange: Int(now - min(memory.changedAt, now)))
            state.wanted = decision.wanted
            state.reason = decision.reason.rawValue
            Gauge(label: "switchboard_autoscale_wanted", dimensions: [("service", service.name)]).record(decision.wanted)
            Gauge(label: "switchboard_autoscale_replicas", dimensions: [("service", service.name)]).record(current)
            guard decision.direction != .none else { continue }
            let metadata: Logger.Metadata = [
                "service": "\(service.name)", "from": "\(current)", "to": "\(decision.wanted)", "reason": "\(decision.reason.rawValue)",
                "why": "\(decision.explanation)",
            ]
            if configuration.dryRun {
                logger.notice("would scale (dry run)", metadata: metadata)
                continue
            }
            do {
                try await engine.scale(service, to: decision.wanted)
            } catch {
                logger.warning("scaling refused by the Docker Engine", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                continue
            }
            remember(service.name) { $0.changedAt = now }
            Gauge(label: "switchboard_autoscale_replicas", dimensions: [("service", service.name)]).record(decision.wanted)
            Counter(
                label: "switchboard_autoscale_decisions_total",
                dimensions: [("service", service.name), ("direction", decision.direction.rawValue), ("reason", decision.reason.rawValue)]
            ).increment()
            logger.notice("scaled", metadata: metadata)
        }
        do {
            try await AutoscaleState(pool: broker.pool, keys: broker.keys).record(
                states, by: configuration.name, at: now, keptFor: configuration.interval * 3)
        } catch {
            logger.warning("the autoscaler's state was not recorded for the console", metadata: ["error": "\(error)"])
        }
    }

    /// A service's memory, made on first use (as changed now: a new leader waits one cool-down
    /// before scaling anything down), changed by `change`.
    @discardableResult
    func remember<T>(_ service: String, _ change: (inout Memory) -> T) -> T {
        memory.withLock { all in
            var entry = all[service] ?? Memory(changedAt: WallClock.unixMilliseconds())
            defer { all[service] = entry }
            return change(&entry)
        }
    }

    static func load(
        _ queues: [String], gauges: [String: Inspector.Gauges], rates: [String: [(processed: Int, failed: Int)]]
    ) -> ScalingDecision.Load {
        var load = ScalingDecision.Load(waiting: 0, running: 0, oldestWaiting: 0, perSecond: 0)
        var finished = 0
        for queue in queues {
            if let gauge = gauges[queue] {
                if !gauge.paused {
                    load.waiting += gauge.lag
                    load.oldestWaiting = max(load.oldestWaiting, gauge.oldestWaitingMilliseconds)
                }
                load.running += gauge.pending
            }
            finished += (rates[queue] ?? []).reduce(0) { $0 + $1.processed + $1.failed }
        }
        load.perSecond = Double(finished) / 120
        return load
    }
}
