import Foundation

/// The hand-over point between Swift tasks and threads that own a blocking C handle (a hiredis
/// connection, a curl easy handle): tasks `push` work without ever blocking, the owning threads
/// wait in `take`/`takeAll` for it.
///
/// Guarantees: every pushed item is taken exactly once, or refused by `push` once the queue is
/// closed (the caller then answers it, with its own error); items still waiting at `close` are
/// drained before the takers see the end. Items are taken in the order they were pushed.
///
/// Its methods are inlinable, so each client's use is specialised for its item type: this is on
/// every Redis command's and every HTTP request's path.
public final class BlockingQueue<Item: Sendable>: Sendable {
    @usableFromInline
    struct State {
        @usableFromInline var waiting: [Item] = []
        @usableFromInline var closed = false
        /// Takers asleep in `take`/`takeAll`, waiting for an item.
        @usableFromInline var sleeping = 0

        @inlinable init() {}
    }

    @usableFromInline let condition = NSCondition()
    // Only touched while holding `condition`.
    @usableFromInline nonisolated(unsafe) var state = State()

    public init() {}

    /// Hands `item` to a waiting thread. False, and the item untouched, once the queue is closed.
    @inlinable
    public func push(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !state.closed else { return false }
        state.waiting.append(item)
        condition.signal()
        return true
    }

    /// Blocks until there is an item and returns the oldest; nil once closed and drained.
    @inlinable
    public func take() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while state.waiting.isEmpty && !state.closed { sleep() }
        return state.waiting.isEmpty ? nil : state.waiting.removeFirst()
    }

    /// Blocks until there is an item and returns everything waiting, oldest first (one thread
    /// batching all callers' work into one round trip); nil once closed and drained.
    @inlinable
    public func takeAll() -> [Item]? {
        condition.lock()
        defer { condition.unlock() }
        while state.waiting.isEmpty && !state.closed { sleep() }
        guard !state.waiting.isEmpty else { return nil }
        let batch = state.waiting
        state.waiting.removeAll(keepingCapacity: true)
        return batch
    }

    /// Items waiting to be taken, and whether a taker is asleep waiting for one — so a producer
    /// with several queues to choose from can join items already waiting (taken together) or wake
    /// an idle taker, rather than start a batch behind a busy one.
    @inlinable
    public var backlog: (waiting: Int, takerIdle: Bool) {
        condition.lock()
        defer { condition.unlock() }
        return (state.waiting.count, state.sleeping > 0)
    }

    /// Waits on the condition (its lock held), counted among the takers asleep.
    @inlinable
    func sleep() {
        state.sleeping += 1
        condition.wait()
        state.sleeping -= 1
    }

    /// Refuses further pushes and wakes every taker; what is waiting is still handed out.
    @inlinable
    public func close() {
        condition.lock()
        state.closed = true
        condition.broadcast()
        condition.unlock()
    }
}
