import DNSMessage
import Foundation
import Testing

/// `RRSet.grouping`: an upstream's records into RRsets, in order of first appearance, each at its smallest TTL,
/// in time linear in the records (it runs on an event loop, for answers of thousands of records).
@Suite struct GroupingTests {
    static func record(_ owner: String, _ type: RecordType, ttl: UInt32, _ last: UInt8) -> ResourceRecord {
        ResourceRecord(owner: DomainName(owner)!, type: type, ttl: ttl, rdata: .a(IPv4Bytes(192, 0, 2, last)))
    }

    @Test(arguments: [4, 40])  // both sides of the small-answer scan
    func interleavedRecordsGroupInOrderOfFirstAppearance(count: Int) {
        var records: [ResourceRecord] = []
        for index in 0..<count {
            // Alternating owners, the second spelled in both cases: one RRset each, whatever the case.
            let owner = index % 2 == 0 ? "a.example." : (index % 4 == 1 ? "B.example." : "b.EXAMPLE.")
            records.append(Self.record(owner, .a, ttl: UInt32(300 - index), UInt8(index)))
        }
        records.append(Self.record("a.example.", .aaaa, ttl: 7, 99))
        let sets = RRSet.grouping(records)
        #expect(sets.map(\.owner) == [DomainName("a.example.")!, DomainName("b.example.")!, DomainName("a.example.")!])
        #expect(sets.map(\.type) == [.a, .a, .aaaa])
        #expect(sets.map(\.rdata.count) == [count / 2, count / 2, 1])
        #expect(sets[0].rdata.first == .a(IPv4Bytes(192, 0, 2, 0)))
        #expect(sets[1].rdata.first == .a(IPv4Bytes(192, 0, 2, 1)))
        #expect(sets.map(\.ttl) == [UInt32(300 - (count - 2)), UInt32(300 - (count - 1)), 7])
    }

    /// 10,000 records of distinct owners (about twice what a 64 KiB TCP answer holds): a search of the sets so far
    /// for each record makes 50 million name comparisons (tens of seconds in a debug build); a linear grouping takes
    /// a fraction of a second even there.
    @Test func tenThousandDistinctOwnersGroupInLinearTime() {
        let records = (0..<10_000).map { index in
            Self.record("host\(index).example.", .a, ttl: 60, UInt8(truncatingIfNeeded: index))
        }
        let started = Date()
        let sets = RRSet.grouping(records)
        let elapsed = Date().timeIntervalSince(started)
        #expect(sets.count == 10_000)
        #expect(sets.allSatisfy { $0.rdata.count == 1 })
        #expect(sets[1_234].owner == DomainName("host1234.example.")!)
        #expect(elapsed < 2, "grouping took \(elapsed) s")
    }
}
