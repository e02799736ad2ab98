// DueHeap: things due at a time (endpoints waiting for their next probe, probes' deadlines), soonest first, behind
// one timer.

import NIOCore

/// A binary min-heap of (due time, id), so that the probe loop needs one timer (its `epoll_wait` timeout) for all
/// its endpoints and all its probes' deadlines.
///
/// Items are not removed when an endpoint is rescheduled or goes away, or a probe ends before its deadline; the
/// owner skips those whose `ticket` is no longer current when they come up.
struct DueHeap<ID> {
    struct Item {
        var due: NIODeadline
        var id: ID
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
