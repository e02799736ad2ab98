import DNSMessage
import Locking
import NIOCore

/// Forwarded answers, kept for their TTL (at most `maxTTL`), with negative answers kept for the SOA's
/// negative TTL (RFC 2308 §5) and an upstream's SERVFAIL for `policy.servfailLifetime`. Bounded in entries and
/// in bytes: the least recently used entries leave first until a new one fits both.
///
/// An expired answer stays up to `policy.serveStale` longer, for when no upstream answers (RFC 8767). An
/// answer asked `policy.prefetchAfter` times is refreshed shortly before it expires (`find` says when).
///
/// Split into shards, each behind its own lock, so event loops answering from the cache rarely wait on
/// each other. svcdns's own zones never come here: they are always answered fresh from the snapshot.
public final class ResponseCache: Sendable {
    private let shards: [CacheShard]
    public let maxTTL: UInt32
    /// The bytes the entries may take in all (as `CacheEntry.estimatedSize` counts them).
    public let maxBytes: Int
    public let policy: CachePolicy

    /// The default of `--cache-memory`.
    public static let defaultMaxBytes = 64 << 20
    /// RFC 8767 §4: the TTL of a stale answer, and how long after an upstream failed to refresh an entry its
    /// stale answer is served at once, without asking the upstreams first ("failure recheck").
    public static let staleTTL: UInt32 = 30

    /// `capacity` entries and `maxBytes` bytes in all, split evenly between the shards (at least one entry per
    /// shard). An answer larger than a shard's share of the bytes is not kept.
    public init(
        capacity: Int, maxTTL: UInt32, maxBytes: Int = ResponseCache.defaultMaxBytes, policy: CachePolicy = CachePolicy()
    ) {
        let capacity = max(1, capacity)
        let shardCount = capacity >= 1024 ? 16 : 1
        let perShard = max(1, capacity / shardCount + (capacity % shardCount == 0 ? 0 : 1))
        let bytesPerShard = max(1, maxBytes / shardCount)
        shards = (0..<shardCount).map { _ in CacheShard(capacity: perShard, byteCapacity: bytesPerShard) }
        self.maxTTL = maxTTL
        self.maxBytes = maxBytes
        self.policy = policy
    }

    private func shard(for key: CacheKey) -> Int {
        shards.count == 1 ? 0 : Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))
    }

    /// The cached answer to `key`, with every TTL counted down by the time it has been cached; nil
    /// when there is none or it has expired.
    public func lookup(_ key: CacheKey, now: NIODeadline = .now()) -> UpstreamAnswer? {
        guard let hit = find(key, now: now), !hit.isStale else { return nil }
        return hit.answer
    }

    /// What the cache holds for `key` to answer with now: a fresh answer (its TTLs counted down), or, within
    /// `policy.serveStale` after it expired and while its upstreams have just failed, the stale answer with
    /// TTL 30. `shouldRefresh` asks the caller to refresh the entry in the background: a popular fresh entry
    /// near its end (prefetch), or a stale one being served. It is given once per refresh, until the entry is
    /// stored again or `refreshFailed` is called. An expired entry not served stale is a miss (nil): the caller
    /// asks the upstreams, and `stale` gives the old answer if they fail.
    public func find(_ key: CacheKey, now: NIODeadline = .now()) -> CacheHit? {
        let policy = self.policy
        let found = shards[shard(for: key)].state.withLock { shard in
            shard.visit(key) { entry -> LRUShard.Visit<(CacheEntry, Bool)> in
                let age = now - entry.storedAt
                let lifetime = TimeAmount.seconds(Int64(entry.lifetime))
                if age < lifetime {
                    entry.hits &+= 1
                    // Prefetch once fewer than a tenth of the lifetime is left, for an entry asked often enough.
                    let due = policy.prefetchAfter > 0 && entry.hits >= policy.prefetchAfter
                        && (lifetime - age).nanoseconds * 10 < lifetime.nanoseconds && !entry.refreshing
                    if due { entry.refreshing = true }
                    return .use((entry, due))
                }
                guard entry.isServableStale, age < lifetime + .seconds(Int64(policy.serveStale)) else { return .remove }
                // Served stale at once only just after the upstreams failed; otherwise they are asked first.
                guard let failedAt = entry.failedAt, now - failedAt < .seconds(Int64(Self.staleTTL)) else { return .keep }
                let due = !entry.refreshing
                if due { entry.refreshing = true }
                return .use((entry, due))
            }
        }
        guard let (entry, refresh) = found else { return nil }
        let age = now - entry.storedAt
        if age >= .seconds(Int64(entry.lifetime)) {
            return CacheHit(answer: entry.answer(ttl: { _ in Self.staleTTL }), isStale: true, shouldRefresh: refresh)
        }
        let elapsed = UInt32(clamping: max(0, age.nanoseconds / 1_000_000_000))
        return CacheHit(answer: entry.answer(ttl: { $0 > elapsed ? $0 - elapsed : 0 }), isStale: false, shouldRefresh: refresh)
    }

    /// The expired answer to `key` with TTL 30, when it expired at most `policy.serveStale` ago: what a client
    /// gets when every upstream failed. Marks the entry as failed, so that for the next 30 s `find` serves it
    /// at once (and asks for one background refresh) rather than waiting on the upstreams again.
    public func stale(_ key: CacheKey, now: NIODeadline = .now()) -> UpstreamAnswer? {
        guard policy.serveStale > 0 else { return nil }
        let serveStale = TimeAmount.seconds(Int64(policy.serveStale))
        let entry = shards[shard(for: key)].state.withLock { shard in
            shard.visit(key) { entry -> LRUShard.Visit<CacheEntry> in
                let lifetime = TimeAmount.seconds(Int64(entry.lifetime))
                guard entry.isServableStale, now - entry.storedAt < lifetime + serveStale else { return .keep }
                entry.failedAt = now
                entry.refreshing = false
                return .use(entry)
            }
        }
        return entry?.answer(ttl: { _ in Self.staleTTL })
    }

    /// A background refresh of `key` got no answer: the entry may be refreshed again, and is served stale.
    public func refreshFailed(_ key: CacheKey, now: NIODeadline = .now()) {
        shards[shard(for: key)].state.withLock { shard in
            _ = shard.visit(key) { entry -> LRUShard.Visit<Void> in
                entry.refreshing = false
                entry.failedAt = now
                return .keep
            }
        }
    }

    /// Keeps `message` (an upstream's answer to `key`) if it may be cached, and returns how long, in seconds.
    /// A SERVFAIL does not replace an answer that is still fresh or may still be served stale: that answer is
    /// worth more to a client than the failure.
    @discardableResult
    public func store(_ message: Message, for key: CacheKey, now: NIODeadline = .now()) -> UInt32 {
        guard let lifetime = lifetime(of: message), lifetime > 0 else { return 0 }
        let cap = { (sets: [RRSet]) in
            sets.map { set in
                var set = set
                set.ttl = min(set.ttl, self.maxTTL)
                return set
            }
        }
        let entry = CacheEntry(
            rcode: message.rcode, answer: cap(RRSet.grouping(message.answer)), authority: cap(RRSet.grouping(message.authority)),
            additional: cap(RRSet.grouping(message.additional)), storedAt: now, lifetime: lifetime
        )
        let keepFor = TimeAmount.seconds(Int64(policy.serveStale))
        let kept = shards[shard(for: key)].state.withLock { shard -> Bool in
            if message.rcode == .serverFailure, let held = shard.peek(key), held.isServableStale,
                now - held.storedAt < .seconds(Int64(held.lifetime)) + keepFor
            {
                return false
            }
            return shard.set(key, entry)
        }
        return kept ? lifetime : 0
    }

    /// How long an answer may be kept: the smallest TTL of its answer records for a positive answer;
    /// for NXDOMAIN and NODATA, min(SOA TTL, SOA MINIMUM) of the SOA in the authority section (RFC 2308 §5),
    /// and not at all without one; SERVFAIL for `policy.servfailLifetime`. Other rcodes are not kept. Capped
    /// at `maxTTL`.
    func lifetime(of message: Message) -> UInt32? {
        switch message.rcode {
        case .noError where !message.answer.isEmpty:
            return message.answer.map(\.ttl).min().map { min($0, maxTTL) }
        case .noError, .nameError:
            for record in message.authority {
                if case .soa(let soa) = record.rdata {
                    return min(record.ttl, soa.minimum, maxTTL)
                }
            }
            return nil
        case .serverFailure:
            return policy.servfailLifetime == 0 ? nil : min(policy.servfailLifetime, maxTTL)
        default:
            return nil
        }
    }

    /// Entries held now (expired ones included until they are looked up or pushed out).
    public var count: Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.count } }
    }

    /// The bytes the entries held now take, as `CacheEntry.estimatedSize` counts them.
    public var bytes: Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.bytes } }
    }
}

/// What the cache does beyond keeping answers for their TTL (`--serve-stale`, `--prefetch`, `--cache-servfail`).
public struct CachePolicy: Hashable, Sendable {
    /// Seconds past expiry an answer may still be served when no upstream answers (RFC 8767); 0: never.
    public var serveStale: UInt32
    /// Times an answer must be asked within its TTL to be refreshed before it expires; 0: never.
    public var prefetchAfter: Int
    /// Seconds an upstream's SERVFAIL is kept; 0: not kept.
    public var servfailLifetime: UInt32

    public init(serveStale: UInt32 = 0, prefetchAfter: Int = 0, servfailLifetime: UInt32 = 0) {
        self.serveStale = serveStale
        self.prefetchAfter = prefetchAfter
        self.servfailLifetime = servfailLifetime
    }
}

/// One lookup's result: the answer to give, and whether the caller should refresh the entry in the background.
public struct CacheHit: Sendable {
    public var answer: UpstreamAnswer
    /// Expired, served because the upstreams failed (RFC 8767), with TTL 30.
    public var isStale: Bool
    public var shouldRefresh: Bool
}

/// One shard: its own lock, so lookups on different event loops rarely meet.
final class CacheShard: Sendable {
    let state: Locked<LRUShard>

    init(capacity: Int, byteCapacity: Int) {
        state = Locked(LRUShard(capacity: capacity, byteCapacity: byteCapacity))
    }
}

struct CacheEntry: Sendable {
    var rcode: ResponseCode
    var answer: [RRSet]
    var authority: [RRSet]
    var additional: [RRSet]
    var storedAt: NIODeadline
    /// Seconds from `storedAt` during which the entry answers.
    var lifetime: UInt32
    /// Times it answered while fresh, for prefetching.
    var hits = 0
    /// A background refresh is under way (prefetch or stale): no other is started.
    var refreshing = false
    /// When the upstreams last failed to refresh it.
    var failedAt: NIODeadline? = nil

    /// An answer worth serving after it expired: a positive or negative one, never a cached failure.
    var isServableStale: Bool { rcode != .serverFailure }

    /// The entry as an answer, each RRset's TTL mapped by `ttl`.
    func answer(ttl: (UInt32) -> UInt32) -> UpstreamAnswer {
        func mapped(_ sets: [RRSet]) -> [RRSet] {
            sets.map { set in
                var set = set
                set.ttl = ttl(set.ttl)
                return set
            }
        }
        return UpstreamAnswer(
            rcode: rcode, answer: mapped(answer), authority: mapped(authority), additional: mapped(additional))
    }

    /// What the entry and its key take in memory, roughly: the bytes of names and rdata plus a fixed cost
    /// for each array element and allocation. An estimate that errs high, so the cache stays under its bound.
    func estimatedSize(key: CacheKey) -> Int {
        var size = 128 + key.name.count
        for set in answer + authority + additional {
            size += 64 + set.owner.wire.count
            for rdata in set.rdata {
                size += 32 + Self.size(of: rdata)
            }
        }
        return size
    }

    private static func size(of rdata: RData) -> Int {
        switch rdata {
        case .a: 4
        case .aaaa: 16
        case .cname(let name), .ns(let name), .ptr(let name): 32 + name.wire.count
        case .mx(_, let exchange): 34 + exchange.wire.count
        case .soa(let soa): 96 + soa.mname.wire.count + soa.rname.wire.count
        case .srv(_, _, _, let target): 38 + target.wire.count
        case .txt(let strings): 32 + strings.reduce(0) { $0 + 32 + $1.count }
        case .opaque(let bytes): 32 + bytes.count
        }
    }
}

/// A fixed-capacity map with least-recently-used eviction: a dictionary into slots that form a doubly
/// linked list, most recent at the head. Every operation is O(1).
struct LRUShard {
    private struct Slot {
        var key: CacheKey
        var entry: CacheEntry
        /// `entry.estimatedSize(key:)`, counted in `bytes` while the slot is in use.
        var size: Int
        var previous: Int
        var next: Int
    }

    private var slots: [Slot] = []
    private var index: [CacheKey: Int] = [:]
    private var head = -1
    private var tail = -1
    private var free: [Int] = []
    let capacity: Int
    let byteCapacity: Int
    /// The estimated size of the entries held.
    private(set) var bytes = 0

    init(capacity: Int, byteCapacity: Int = .max) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
    }

    var count: Int { index.count }

    mutating func get(_ key: CacheKey) -> CacheEntry? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return slots[slot].entry
    }

    /// The entry for `key`, without making it more recent.
    func peek(_ key: CacheKey) -> CacheEntry? {
        index[key].map { slots[$0].entry }
    }

    /// What `visit` does with an entry after `body` saw it.
    enum Visit<Result> {
        /// Answered from: `visit` returns the result, and the entry becomes the most recent.
        case use(Result)
        /// Not answered from, but kept as it is.
        case keep
        case remove
    }

    /// Lets `body` look at the entry for `key`, and change it in place (its records, and so its size, stay).
    mutating func visit<Result>(_ key: CacheKey, _ body: (inout CacheEntry) -> Visit<Result>) -> Result? {
        guard let slot = index[key] else { return nil }
        switch body(&slots[slot].entry) {
        case .use(let result):
            moveToFront(slot)
            return result
        case .keep:
            return nil
        case .remove:
            remove(key)
            return nil
        }
    }

    @discardableResult
    mutating func set(_ key: CacheKey, _ entry: CacheEntry) -> Bool {
        let size = entry.estimatedSize(key: key)
        // An earlier answer to the same question leaves first: the new one replaces it in any case.
        remove(key)
        guard size <= byteCapacity else { return false }
        while tail >= 0, index.count >= capacity || bytes > byteCapacity - size {
            remove(slots[tail].key)
        }
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            slots[slot] = Slot(key: key, entry: entry, size: size, previous: -1, next: -1)
        } else {
            slot = slots.count
            slots.append(Slot(key: key, entry: entry, size: size, previous: -1, next: -1))
        }
        index[key] = slot
        bytes += size
        linkAtFront(slot)
        return true
    }

    mutating func remove(_ key: CacheKey) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
        bytes -= slots[slot].size
        // The slot keeps its key until reused, but not the records: they count against memory until then.
        slots[slot].entry.answer = []
        slots[slot].entry.authority = []
        slots[slot].entry.additional = []
        free.append(slot)
    }

    private mutating func moveToFront(_ slot: Int) {
        guard head != slot else { return }
        unlink(slot)
        linkAtFront(slot)
    }

    private mutating func linkAtFront(_ slot: Int) {
        slots[slot].previous = -1
        slots[slot].next = head
        if head >= 0 { slots[head].previous = slot }
        head = slot
        if tail < 0 { tail = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let (previous, next) = (slots[slot].previous, slots[slot].next)
        if previous >= 0 { slots[previous].next = next } else { head = next }
        if next >= 0 { slots[next].previous = previous } else { tail = previous }
        slots[slot].previous = -1
        slots[slot].next = -1
    }
}
