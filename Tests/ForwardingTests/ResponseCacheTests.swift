import DNSMessage
import NIOCore
import Testing

@testable import Forwarding

/// The cache's rules: how long each kind of answer is kept, TTLs counted down, least recently used out.
@Suite struct ResponseCacheTests {
    static let name = DomainName("www.upstream.test.")!
    static let soa = ResourceRecord(
        owner: DomainName("upstream.test.")!, type: .soa, ttl: 300,
        rdata: .soa(SOAData(mname: DomainName("ns1.upstream.test.")!, rname: DomainName("hostmaster.upstream.test.")!,
            serial: 1, refresh: 3600, retry: 900, expire: 604800, minimum: 30))
    )

    static func message(rcode: UInt16 = 0, answer: [ResourceRecord] = [], authority: [ResourceRecord] = []) -> Message {
        Message(
            header: QueryHeader(id: 1, flags: 0x8180 | rcode), questions: [(name, .a, 1)], answer: answer, authority: authority,
            additional: [], edns: nil
        )
    }

    static func a(_ ttl: UInt32, _ last: UInt8 = 1) -> ResourceRecord {
        ResourceRecord(owner: name, type: .a, ttl: ttl, rdata: .a(IPv4Bytes(127, 0, 10, last)))
    }

    static let key = CacheKey(name: name, type: .a, dnssecOK: false)

    @Test func lifetimes() {
        let cache = ResponseCache(capacity: 10, maxTTL: 3600)
        #expect(cache.lifetime(of: Self.message(answer: [Self.a(300), Self.a(60, 2)])) == 60, "the smallest TTL")
        #expect(ResponseCache(capacity: 10, maxTTL: 100).lifetime(of: Self.message(answer: [Self.a(300)])) == 100, "capped")
        #expect(cache.lifetime(of: Self.message(rcode: 3, authority: [Self.soa])) == 30, "RFC 2308: min(SOA TTL, MINIMUM)")
        #expect(cache.lifetime(of: Self.message(authority: [Self.soa])) == 30, "NODATA likewise")
        #expect(cache.lifetime(of: Self.message(rcode: 3)) == nil, "no SOA, not kept")
        #expect(cache.lifetime(of: Self.message(rcode: 2)) == nil, "SERVFAIL is not kept")
    }

    @Test func ttlsCountDownAndEntriesExpire() throws {
        let cache = ResponseCache(capacity: 10, maxTTL: 3600)
        let start = NIODeadline.now()
        cache.store(Self.message(answer: [Self.a(60)]), for: Self.key, now: start)
        let fresh = try #require(cache.lookup(Self.key, now: start))
        #expect(fresh.answer.first?.ttl == 60)
        #expect(fresh.rcode == .noError)
        let later = try #require(cache.lookup(Self.key, now: start + .seconds(25)))
        #expect(later.answer.first?.ttl == 35)
        #expect(cache.lookup(Self.key, now: start + .seconds(60)) == nil, "gone at its TTL")
        #expect(cache.count == 0)
    }

    @Test func theLeastRecentlyUsedEntryLeavesFirst() {
        let cache = ResponseCache(capacity: 2, maxTTL: 3600)
        let keys = ["a", "b", "c"].map { CacheKey(name: DomainName("\($0).upstream.test.")!, type: .a, dnssecOK: false) }
        cache.store(Self.message(answer: [Self.a(60)]), for: keys[0])
        cache.store(Self.message(answer: [Self.a(60)]), for: keys[1])
        #expect(cache.lookup(keys[0]) != nil)  // a is now more recent than b
        cache.store(Self.message(answer: [Self.a(60)]), for: keys[2])
        #expect(cache.count == 2)
        #expect(cache.lookup(keys[1]) == nil, "b was the least recently used")
        #expect(cache.lookup(keys[0]) != nil)
        #expect(cache.lookup(keys[2]) != nil)
    }

    @Test func signedAndUnsignedAnswersAreKeptApart() {
        let cache = ResponseCache(capacity: 10, maxTTL: 3600)
        cache.store(Self.message(answer: [Self.a(60)]), for: Self.key)
        #expect(cache.lookup(CacheKey(name: Self.name, type: .a, dnssecOK: true)) == nil)
        #expect(cache.lookup(CacheKey(name: DomainName("WWW.Upstream.TEST.")!, type: .a, dnssecOK: false)) != nil, "names fold case")
    }

    /// Bounded in bytes as well as entries: answers of 100 records each (about 4 KB as counted) in 64 KiB leave
    /// the most recent sixteen or so, the least recently used out, and one answer larger than the whole bound is
    /// not kept at all. (One shard, below 1,024 entries: least recently used is exact.)
    @Test func theLeastRecentlyUsedLeaveUntilANewEntryFitsTheBytes() throws {
        let cache = ResponseCache(capacity: 1000, maxTTL: 3600, maxBytes: 64 << 10)
        let big = Self.message(answer: (0..<100).map { Self.a(60, UInt8($0)) })
        let keys = (0..<50).map { CacheKey(name: DomainName("n\($0).upstream.test.")!, type: .a, dnssecOK: false) }
        for key in keys {
            #expect(cache.store(big, for: key) == 60)
            #expect(cache.bytes <= 64 << 10)
        }
        let kept = keys.filter { cache.lookup($0) != nil }
        #expect((10...20).contains(kept.count), "\(kept.count) of 50 kept")
        #expect(kept == Array(keys.suffix(kept.count)), "the most recent ones")
        #expect(cache.count == kept.count)

        let huge = Self.message(answer: (0..<255).flatMap { high in (0..<10).map { _ in Self.a(60, UInt8(high)) } })
        #expect(cache.store(huge, for: Self.key) == 0, "over the whole bound: not kept")
        #expect(cache.lookup(Self.key) == nil)
        #expect(cache.lookup(keys[49]) != nil, "and nothing else was pushed out for it")
    }
}
