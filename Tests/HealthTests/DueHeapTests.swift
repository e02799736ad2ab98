// DueHeapTests: the timeline pops soonest first, ties in ticket order, and drops stale items on request.

import NIOCore
import ServiceModel
import Testing

@testable import Health

@Suite("DueHeap")
struct DueHeapTests {
    static let id = Fixture.id("heap", "10.9.0.1")

    @Test func popsSoonestFirstWithTiesInTicketOrder() {
        var heap = DueHeap<EndpointID>()
        let base = NIODeadline.uptimeNanoseconds(1_000_000)
        var generator = SystemRandomNumberGenerator()
        let offsets = (0..<500).map { _ in Int64.random(in: 0..<50, using: &generator) }
        for (ticket, offset) in offsets.enumerated() {
            heap.push(DueHeap<EndpointID>.Item(due: base + .milliseconds(offset), id: Self.id, ticket: UInt64(ticket)))
        }
        var popped: [(Int64, UInt64)] = []
        while let item = heap.popFirst() {
            popped.append(((item.due - base).nanoseconds, item.ticket))
        }
        let expected = offsets.enumerated().map { (Int64($1) * 1_000_000, UInt64($0)) }.sorted { $0 < $1 }
        #expect(popped.map(\.0) == expected.map(\.0))
        #expect(popped.map(\.1) == expected.map(\.1))
    }

    @Test func removeAllWhereKeepsHeapOrder() {
        var heap = DueHeap<EndpointID>()
        let base = NIODeadline.uptimeNanoseconds(1_000_000)
        for ticket in (0..<200).reversed() {
            heap.push(DueHeap<EndpointID>.Item(due: base + .milliseconds(Int64(ticket)), id: Self.id, ticket: UInt64(ticket)))
        }
        heap.removeAll { $0.ticket % 3 == 0 }
        var tickets: [UInt64] = []
        while let item = heap.popFirst() {
            tickets.append(item.ticket)
        }
        let kept = (0..<200).map(UInt64.init).filter { $0 % 3 != 0 }
        #expect(tickets == kept)
    }
}
