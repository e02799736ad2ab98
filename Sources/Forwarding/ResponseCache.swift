import DNSMessage
import NIOCore
import Synchronization

/// Forwarded answers, kept for their TTL (at most `maxTTL`), with negative answers kept for the SOA's
/// negative TTL (RFC 2308 §5). Bounded: the least recently used entry leaves first.
///
/// Split into shards, each behind its own lock, so event loops answering from the cache rarely wait on
/// each other. svcdns's own zones never come here: they are always answered fresh from the snapshot.
public final class ResponseCache: Sendable {
    private let shards: [CacheShard]
    public let maxTTL: UInt32

    /// `capacity` entries in all (at least one per shard).
    public init(capacity: Int, maxTTL: UInt32) {
        let shardCount = capacity >= 1024 ? 16 : 1
        let perShard = max(1, (capacity + shardCount - 1) / shardCount)
        shards = (0..<shardCount).map { _ in CacheShard(capacity: perShard) }
        self.maxTTL = maxTTL
    }

    private func shard(for key: CacheKey) -> Int {
        shards.count == 1 ? 0 : Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))
    }

    /// The cached response to `key`, with every TTL counted down by the time it has been cached; nil
    /// when there is none or it has expired.
    public func lookup(_ key: CacheKey, now: NIODeadline = .now()) -> Response? {
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
        return Response(
            rcode: entry.rcode, authoritative: false, recursionAvailable: true, answer: aged(entry.answer),
            authority: aged(entry.authority), additional: aged(entry.additional)
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
        shards[shard(for: key)].state.withLock { $0.set(key, entry) }
        return lifetime
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
}

/// One shard: its own lock, so lookups on different event loops rarely meet.
final class CacheShard: Sendable {
    let state: Mutex<LRUShard>

    init(capacity: Int) {
        state = Mutex(LRUShard(capacity: capacity))
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
}

/// A fixed-capacity map with least-recently-used eviction: a dictionary into slots that form a doubly
/// linked list, most recent at the head. Every operation is O(1).
struct LRUShard {
    private struct Slot {
        var key: CacheKey
        var entry: CacheEntry
        var previous: Int
        var next: Int
    }

    private var slots: [Slot] = []
    private var index: [CacheKey: Int] = [:]
    private var head = -1
    private var tail = -1
    private var free: [Int] = []
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { index.count }

    mutating func get(_ key: CacheKey) -> CacheEntry? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return slots[slot].entry
    }

    mutating func set(_ key: CacheKey, _ entry: CacheEntry) {
        if let slot = index[key] {
            slots[slot].entry = entry
            moveToFront(slot)
            return
        }
        if index.count >= capacity, tail >= 0 {
            remove(slots[tail].key)
        }
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            slots[slot] = Slot(key: key, entry: entry, previous: -1, next: -1)
        } else {
            slot = slots.count
            slots.append(Slot(key: key, entry: entry, previous: -1, next: -1))
        }
        index[key] = slot
        linkAtFront(slot)
    }

    mutating func remove(_ key: CacheKey) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
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
