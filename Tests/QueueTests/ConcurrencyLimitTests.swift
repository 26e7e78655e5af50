import TestSupport
import Testing

@testable import Queue

/// The bound on jobs in flight: a fetcher takes free slots at once unless finished jobs are about
/// to give theirs back, in which case it waits for them and reads them all in one go.
@Suite struct ConcurrencyLimitTests {
    @Test func freeSlotsAreTakenAtOnceWhenNoneAreAboutToComeBack() async {
        let limit = ConcurrencyLimit(capacity: 8)
        #expect(await Self.granted(limit, upTo: 7) == 7)
        #expect(await Self.granted(limit, upTo: 8) == 1)
        limit.release(1)
        #expect(await Self.granted(limit, upTo: 8) == 1, "one slot free, none announced: taken without waiting")
    }

    @Test func withFewSlotsFreeAWaiterWaitsForThoseAboutToComeBack() async {
        let limit = ConcurrencyLimit(capacity: 8)
        #expect(await Self.granted(limit, upTo: 8) == 8)
        limit.willRelease(5)
        limit.release(2, announced: true)
        let waiter = Task { await limit.acquire(upTo: 8) }
        #expect(await eventually(timeout: .seconds(5), every: .milliseconds(1)) { limit.waiting == 1 })
        limit.release(3, announced: true)
        #expect(await waiter.value == 5, "the slots that came back together are taken together")
    }

    @Test func halfTheSlotsFreeAreTakenWithoutWaitingForMore() async {
        let limit = ConcurrencyLimit(capacity: 8)
        #expect(await Self.granted(limit, upTo: 8) == 8)
        limit.willRelease(6)
        limit.release(4, announced: true)
        #expect(await Self.granted(limit, upTo: 8) == 4)
        limit.release(2, announced: true)
        limit.willRelease(1)
        #expect(await Self.granted(limit, upTo: 1) == 1, "a waiter wanting no more than is free takes it")
    }

    @Test func sixteenFreeSlotsAreWorthAReadHoweverLargeTheCapacity() async {
        let limit = ConcurrencyLimit(capacity: 200)
        #expect(await Self.granted(limit, upTo: 200) == 200)
        limit.willRelease(100)
        limit.release(ConcurrencyLimit.gatherMost, announced: true)
        #expect(await Self.granted(limit, upTo: 200) == ConcurrencyLimit.gatherMost, "not waiting for half of 200")
    }

    @Test func aWaiterIsCancelledWithNoSlots() async {
        let limit = ConcurrencyLimit(capacity: 4)
        #expect(await Self.granted(limit, upTo: 4) == 4)
        limit.willRelease(4)
        limit.release(1, announced: true)
        let waiter = Task { await limit.acquire(upTo: 4) }
        #expect(await eventually(timeout: .seconds(5), every: .milliseconds(1)) { limit.waiting == 1 })
        waiter.cancel()
        #expect(await waiter.value == 0)
        limit.release(3, announced: true)
        #expect(await Self.granted(limit, upTo: 4) == 4, "the cancelled waiter held nothing")
    }

    /// What `acquire(upTo:)` grants when it must not wait: nil (the call cancelled) if it is still
    /// waiting after five seconds.
    static func granted(_ limit: ConcurrencyLimit, upTo wanted: Int) async -> Int? {
        let granted = LockedValue<Int?>(nil)
        let call = Task { granted.set(await limit.acquire(upTo: wanted)) }
        guard await eventually(timeout: .seconds(5), every: .milliseconds(1), { granted.value != nil }) else {
            call.cancel()
            return nil
        }
        return granted.value
    }
}
