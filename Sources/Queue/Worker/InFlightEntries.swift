import Synchronization

/// The entries this process holds, per queue: delivered to it and not yet settled in Redis (a job
/// running, or finished with its acknowledgement still to be written). The heartbeat renews their
/// leases, and reading back lost deliveries (`Broker.recover`) skips them: only an entry Redis
/// gave this consumer that is *not* here was lost on the way.
final class InFlightEntries: Sendable {
    private let entries = Mutex<[String: Set<String>]>([:])

    // The queue's set is taken out once per call, not reached through the dictionary per entry:
    // each such access was a `modify` coroutine whose frames were allocated (three per entry).
    func started(_ queue: String, _ entryIDs: some Sequence<String>) {
        entries.withLock { entries in
            var held = entries.removeValue(forKey: queue) ?? []
            for id in entryIDs { held.insert(id) }
            entries[queue] = held
        }
    }

    func settled(_ queue: String, _ entryIDs: some Sequence<String>) {
        entries.withLock { entries in
            guard var held = entries.removeValue(forKey: queue) else { return }
            for id in entryIDs { held.remove(id) }
            entries[queue] = held
        }
    }

    func running(in queue: String) -> [String] {
        entries.withLock { Array($0[queue] ?? []) }
    }

    var snapshot: [String: [String]] {
        entries.withLock { $0.mapValues(Array.init) }
    }
}
