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
        let servfail = ResponseCache(capacity: 10, maxTTL: 3600, policy: CachePolicy(servfailLifetime: 5))
        #expect(servfail.lifetime(of: Self.message(rcode: 2)) == 5, "--cache-servfail")
    }

    /// RFC 8767: an expired answer is a miss until the upstreams fail; then it is given with TTL 30, and for the
    /// next 30 s at once, with one background refresh asked for, until `--serve-stale` after its expiry.
    @Test func expiredAnswersAreServedStaleOnlyAfterAFailure() throws {
        let cache = ResponseCache(capacity: 10, maxTTL: 3600, policy: CachePolicy(serveStale: 600))
        let start = NIODeadline.now()
        cache.store(Self.message(answer: [Self.a(60)]), for: Self.key, now: start)
        let expired = start + .seconds(61)
        #expect(cache.find(Self.key, now: expired) == nil, "a miss: the upstreams are asked first")
        #expect(cache.count == 1, "kept for serving stale")
        let stale = try #require(cache.stale(Self.key, now: expired))
        #expect(stale.answer.first?.ttl == 30)
        let atOnce = try #require(cache.find(Self.key, now: expired + .seconds(1)))
        #expect(atOnce.isStale && atOnce.shouldRefresh && atOnce.answer.answer.first?.ttl == 30)
        let again = try #require(cache.find(Self.key, now: expired + .seconds(2)))
        #expect(again.isStale && !again.shouldRefresh, "one refresh at a time")
        cache.refreshFailed(Self.key, now: expired + .seconds(3))
        #expect(cache.find(Self.key, now: expired + .seconds(4))?.shouldRefresh == true, "a failed refresh may be tried again")
        #expect(cache.find(Self.key, now: expired + .seconds(40)) == nil, "30 s after the last failure: ask again")
        #expect(cache.stale(Self.key, now: start + .seconds(659)) != nil)
        #expect(cache.stale(Self.key, now: start + .seconds(661)) == nil, "past --serve-stale")
        #expect(cache.find(Self.key, now: start + .seconds(661)) == nil)
        #expect(cache.count == 0)

        let off = ResponseCache(capacity: 10, maxTTL: 3600)
        off.store(Self.message(answer: [Self.a(60)]), for: Self.key, now: start)
        #expect(off.stale(Self.key, now: expired) == nil, "serve-stale 0")
    }

    @Test func aPopularEntryAsksForOneRefreshInItsLastTenth() throws {
        let cache = ResponseCache(capacity: 10, maxTTL: 3600, policy: CachePolicy(prefetchAfter: 3))
        let start = NIODeadline.now()
        cache.store(Self.message(answer: [Self.a(100)]), for: Self.key, now: start)
        #expect(cache.find(Self.key, now: start + .seconds(1))?.shouldRefresh == false)
        #expect(cache.find(Self.key, now: start + .seconds(2))?.shouldRefresh == false)
        #expect(cache.find(Self.key, now: start + .seconds(89))?.shouldRefresh == false, "11% left")
        #expect(cache.find(Self.key, now: start + .seconds(91))?.shouldRefresh == true)
        #expect(cache.find(Self.key, now: start + .seconds(92))?.shouldRefresh == false, "already refreshing")
        // The refreshed answer starts over.
        cache.store(Self.message(answer: [Self.a(100)]), for: Self.key, now: start + .seconds(93))
        #expect(cache.find(Self.key, now: start + .seconds(184))?.shouldRefresh == false, "asked once since")

        let rarely = ResponseCache(capacity: 10, maxTTL: 3600, policy: CachePolicy(prefetchAfter: 3))
        rarely.store(Self.message(answer: [Self.a(100)]), for: Self.key, now: start)
        #expect(rarely.find(Self.key, now: start + .seconds(95))?.shouldRefresh == false, "asked once")
    }

    @Test func aServfailDoesNotReplaceAnAnswerThatCanStillBeServed() throws {
        let cache = ResponseCache(capacity: 10, maxTTL: 3600, policy: CachePolicy(serveStale: 600, servfailLifetime: 5))
        let start = NIODeadline.now()
        cache.store(Self.message(answer: [Self.a(60)]), for: Self.key, now: start)
        #expect(cache.store(Self.message(rcode: 2), for: Self.key, now: start + .seconds(70)) == 0)
        #expect(cache.stale(Self.key, now: start + .seconds(70))?.rcode == .noError)
        // Past the stale window it does.
        #expect(cache.store(Self.message(rcode: 2), for: Self.key, now: start + .seconds(700)) == 5)
        #expect(cache.lookup(Self.key, now: start + .seconds(701))?.rcode == .serverFailure)
        #expect(cache.stale(Self.key, now: start + .seconds(710)) == nil, "a cached failure is never served stale")
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
