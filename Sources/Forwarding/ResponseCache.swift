import DNSMessage
import Locking
import NIOCore

/// Forwarded answers, kept for their TTL (at most `maxTTL`), with negative answers kept for the SOA's
/// negative TTL (RFC 2308 §5). Bounded in entries and in bytes: the least recently used entries leave first
/// until a new one fits both.
///
/// Split into shards, each behind its own lock, so event loops answering from the cache rarely wait on
/// each other. svcdns's own zones never come here: they are always answered fresh from the snapshot.
public final class ResponseCache: Sendable {
    private let shards: [CacheShard]
    public let maxTTL: UInt32
    /// The bytes the entries may take in all (as `CacheEntry.estimatedSize` counts them).
    public let maxBytes: Int

    /// The default of `--cache-memory`.
    public static let defaultMaxBytes = 64 << 20

    /// `capacity` entries and `maxBytes` bytes in all, split evenly between the shards (at least one entry per
    /// shard). An answer larger than a shard's share of the bytes is not kept.
    public init(capacity: Int, maxTTL: UInt32, maxBytes: Int = ResponseCache.defaultMaxBytes) {
        let capacity = max(1, capacity)
        let shardCount = capacity >= 1024 ? 16 : 1
        let perShard = max(1, capacity / shardCount + (capacity % shardCount == 0 ? 0 : 1))
        let bytesPerShard = max(1, maxBytes / shardCount)
        shards = (0..<shardCount).map { _ in CacheShard(capacity: perShard, byteCapacity: bytesPerShard) }
        self.maxTTL = maxTTL
        self.maxBytes = maxBytes
    }

    private func shard(for key: CacheKey) -> Int {
        shards.count == 1 ? 0 : Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))
    }

    /// The cached answer to `key`, with every TTL counted down by the time it has been cached; nil
    /// when there is none or it has expired.
    public func lookup(_ key: CacheKey, now: NIODeadline = .now()) -> UpstreamAnswer? {
        guard let entry = shards[shard(for: key)].state.withLock({ $0.get(key) }) else { return nil }
        let elapsed = UInt32(clamping: max(0, (now - entry.storedAt).nanoseconds / 1_000_000_000))
        guard elapsed < entry.lifetime else {
            shards[shard(for: key)].state.withLock { $0.remove(key) }
            return nil
        }
        func aged(_ sets: [RRSet]) -> [RRSet] {
            sets.map { set in
                var set = set
                set.ttl = set.ttl > elapsed ? set.ttl - elapsed : 0
                return set
            }
        }
        return UpstreamAnswer(
            rcode: entry.rcode, answer: aged(entry.answer), authority: aged(entry.authority),
            additional: aged(entry.additional)
        )
    }

    /// Keeps `message` (an upstream's answer to `key`) if it may be cached, and returns how long, in seconds.
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
        let kept = shards[shard(for: key)].state.withLock { $0.set(key, entry) }
        return kept ? lifetime : 0
    }

    /// How long an answer may be kept: the smallest TTL of its answer records for a positive answer;
    /// for NXDOMAIN and NODATA, min(SOA TTL, SOA MINIMUM) of the SOA in the authority section (RFC 2308 §5),
    /// and not at all without one. Other rcodes are not kept. Capped at `maxTTL`.
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

    /// Keeps `entry`, pushing out least recently used entries until it fits in entries and bytes; false (and
    /// nothing kept) when it alone is over the byte capacity.
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
