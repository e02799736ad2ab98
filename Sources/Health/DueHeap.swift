// DueHeap: the endpoints waiting for their next probe, soonest first, behind one event-loop timer.

import NIOCore
import ServiceModel

/// A binary min-heap of (due time, endpoint), so that the checker needs one event-loop timer for all its endpoints.
///
/// One NIO timer per endpoint would do the same job, but NIO cancels a scheduled task by scanning its whole timer
/// heap, and every probe's connect cancels its connect timeout: with 10,000 endpoint timers in that heap, each probe
/// would cost a scan of 10,000. Items are not removed when an endpoint is rescheduled or goes away; the checker
/// skips those whose `ticket` is no longer the endpoint's.
struct DueHeap {
    struct Item {
        var due: NIODeadline
        var id: EndpointID
        /// Which scheduling of the endpoint this is; a later one makes this item stale.
        var ticket: UInt64
    }

    private var items: [Item] = []

    var count: Int { items.count }

    /// The soonest item, or nil when empty.
    var first: Item? { items.first }

    mutating func push(_ item: Item) {
        items.append(item)
        siftUp(items.count - 1)
    }

    mutating func popFirst() -> Item? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let first = items.removeLast()
        if !items.isEmpty {
            siftDown(0)
        }
        return first
    }

    /// Drops the items `isStale` says are stale, in O(n).
    mutating func removeAll(where isStale: (Item) -> Bool) {
        items.removeAll(where: isStale)
        for index in stride(from: items.count / 2 - 1, through: 0, by: -1) {
            siftDown(index)
        }
    }

    mutating func removeAll() {
        items.removeAll()
    }

    private static func precedes(_ a: Item, _ b: Item) -> Bool {
        (a.due, a.ticket) < (b.due, b.ticket)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(items[child], items[parent]) else { return }
            items.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, Self.precedes(items[left], items[smallest]) {
                smallest = left
            }
            if right < items.count, Self.precedes(items[right], items[smallest]) {
                smallest = right
            }
            guard smallest != parent else { return }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
