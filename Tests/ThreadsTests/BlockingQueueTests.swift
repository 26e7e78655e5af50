import Foundation
import Synchronization
import TestSupport
import Testing
import Threads

@Suite struct BlockingQueueTests {
    @Test func itemsAreTakenOnceInTheOrderPushed() {
        let queue = BlockingQueue<Int>()
        for item in 1...5 { #expect(queue.push(item)) }
        #expect(queue.take() == 1)
        #expect(queue.take() == 2)
        #expect(queue.push(6))
        for item in [3, 4, 5] { #expect(queue.take() == item) }
        #expect(queue.take() == 6)
    }

    @Test func aClosedQueueRefusesNewItemsButHandsOutThoseWaiting() {
        let queue = BlockingQueue<String>()
        #expect(queue.push("waiting"))
        queue.close()
        #expect(!queue.push("late"))
        #expect(queue.take() == "waiting")
        #expect(queue.take() == nil)
    }

    @Test func aBlockedTakerIsWokenByAnItemAndByClose() async throws {
        let queue = BlockingQueue<Int>()
        let taken = Mutex<[Int?]>([])
        let finished = Mutex(false)
        let taker = Thread {
            while true {
                let item = queue.take()
                taken.withLock { $0.append(item) }
                if item == nil { break }
            }
            finished.withLock { $0 = true }
        }
        taker.start()
        #expect(queue.push(7))
        #expect(await eventually { taken.withLock { $0 } == [7] })
        queue.close()
        #expect(await eventually { finished.withLock { $0 } })
        #expect(taken.withLock { $0 } == [7, nil])
    }

    @Test func manyPushersLoseNothing() async {
        let queue = BlockingQueue<Int>()
        let received = Mutex<[Int]>([])
        let done = Mutex(false)
        let taker = Thread {
            while let item = queue.take() { received.withLock { $0.append(item) } }
            done.withLock { $0 = true }
        }
        taker.start()
        await withTaskGroup(of: Void.self) { group in
            for pusher in 0..<8 {
                group.addTask {
                    for item in 0..<500 { _ = queue.push(pusher * 1000 + item) }
                }
            }
        }
        queue.close()
        #expect(await eventually { done.withLock { $0 } })
        let all = received.withLock { $0 }
        #expect(all.count == 4000)
        #expect(Set(all).count == 4000)
    }
}
