import Foundation

/// The hand-over point between Swift tasks and threads that own a blocking C handle (a curl easy
/// handle): tasks `push` work without ever blocking, the owning threads wait in `take` for it.
///
/// Guarantees: every pushed item is taken exactly once, or refused by `push` once the queue is
/// closed (the caller then answers it, with its own error); items still waiting at `close` are
/// drained before the takers see the end. Items are taken in the order they were pushed.
///
/// Its methods are inlinable, so each client's use is specialised for its item type: this is on
/// every HTTP request's path.
public final class BlockingQueue<Item: Sendable>: Sendable {
    @usableFromInline
    struct State {
        @usableFromInline var waiting: [Item] = []
        @usableFromInline var closed = false

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
        while state.waiting.isEmpty && !state.closed { condition.wait() }
        return state.waiting.isEmpty ? nil : state.waiting.removeFirst()
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
