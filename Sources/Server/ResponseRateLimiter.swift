// Response rate limiting (RRL) of UDP answers: one decision per answer, from a fixed table of buckets
// that every UDP worker shares without a lock. Hands the transport send, slip (an empty TC answer) or drop.
import Atomics
import DNSMessage
import NIOCore
import ServiceModel

/// Decides, per UDP answer, whether it is sent, slipped or dropped, as NSD's and Knot's RRL do: answers are
/// counted per client network (IPv4 /24, IPv6 /56), name and kind of response (an answer, NODATA, NXDOMAIN,
/// an error), so a flood of one answer reflected at a victim is cut to `rate` a second while the same
/// client's other questions, and TCP, are not affected.
///
/// Each bucket is a generic cell rate algorithm in one 64-bit word: the theoretical time of the next
/// allowed response (µs, 40 bits), a count of responses limited since the last one sent (12 bits, for the
/// slip) and a tag of the key's hash (12 bits; another key hashing to the bucket takes it over, as in NSD).
/// `rate` responses may come at once, then one every 1/`rate` s: time-based, not per-second windows, so a
/// burst across a second boundary gets no double allowance.
///
/// Why one shared table and not one per worker: the kernel spreads a client's datagrams over the
/// `SO_REUSEPORT` sockets by source port, and the spoofed floods RRL is for vary their source ports, so
/// per-worker tables would give a client `rate` × workers. The table has no lock: a decision is one load and
/// one compare-and-swap on its bucket's word, which only two workers answering the same client, name and
/// kind at the same moment contend for, and then for one retry. Nothing is allocated per query (the key
/// is hashed with `Hasher`, on the stack).
public final class ResponseRateLimiter: @unchecked Sendable {
    /// What becomes of one response.
    public enum Decision: Sendable, Equatable {
        case send
        /// Send an empty answer with TC instead.
        case slip
        case drop
    }

    /// The kinds of response counted apart (NSD and Knot classify likewise).
    package enum Kind: UInt8 {
        case answer = 1
        case noData
        case nxDomain
        case error
    }

    let limit: ResponseRateLimit
    /// `UnsafeAtomic` storage, one word per bucket, allocated once; only ever touched atomically (hence
    /// `@unchecked Sendable`).
    private let buckets: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    /// Microseconds between responses at `rate`.
    private let interval: UInt64
    /// How far ahead of now the next allowed time may be and still allow: `rate` - 1 intervals, so a
    /// fresh bucket allows `rate` responses at once.
    private let tolerance: UInt64
    /// The limited count wraps at a multiple of `slip`, so every `slip`-th limited response slips exactly.
    private let limitedWrap: UInt64

    private static let timeBits: UInt64 = 40
    private static let timeMask: UInt64 = (1 << 40) - 1
    private static let limitedMask: UInt64 = 0xFFF
    private static let tagShift: UInt64 = 52

    public init(_ limit: ResponseRateLimit) {
        let rate = min(max(limit.rate, 1), ResponseRateLimit.rates.upperBound)
        let tableSize = min(max(limit.tableSize, 1), ResponseRateLimit.tableSizes.upperBound)
        let slip = min(max(limit.slip, 0), ResponseRateLimit.slips.upperBound)
        self.limit = ResponseRateLimit(rate: rate, slip: slip, tableSize: tableSize)
        interval = max(1_000_000 / UInt64(rate), 1)
        tolerance = UInt64(rate - 1) * interval
        limitedWrap = slip == 0 ? Self.limitedMask : Self.limitedMask / UInt64(slip) * UInt64(slip)
        buckets = .allocate(capacity: tableSize)
        buckets.initialize(repeating: UnsafeAtomic<UInt64>.Storage(0), count: tableSize)
    }

    deinit {
        buckets.deinitialize(count: limit.tableSize)
        buckets.deallocate()
    }

    /// The decision for `response` to `query` from `client` at `now`.
    package func decide(_ response: Response, to query: Query, client: IPAddress?, now: NIODeadline) -> Decision {
        switch response.rcode {
        case .noError:
            return decide(kind: response.answer.isEmpty ? .noData : .answer, name: query.name, client: client, now: now)
        case .nameError:
            // Counted per zone (the SOA's owner), as NSD does: a flood of random names under one zone is one flood.
            let zone = response.authority.first { $0.type == .soa }?.owner ?? query.name
            return decide(kind: .nxDomain, name: zone, client: client, now: now)
        default:
            return decide(kind: .error, name: nil, client: client, now: now)
        }
    }

    /// The decision for an error to a query that could not be read (FORMERR, NOTIMP).
    func decideError(client: IPAddress?, now: NIODeadline) -> Decision {
        decide(kind: .error, name: nil, client: client, now: now)
    }

    package func decide(kind: Kind, name: DomainName?, client: IPAddress?, now: NIODeadline) -> Decision {
        var hasher = Hasher()
        switch client {
        case .v4(let address):
            hasher.combine(UInt8(4))
            hasher.combine(address & 0xFFFF_FF00)
        case .v6(let high, _):
            hasher.combine(UInt8(6))
            hasher.combine(high & 0xFFFF_FFFF_FFFF_FF00)
        case nil:
            hasher.combine(UInt8(0))
        }
        hasher.combine(kind.rawValue)
        if let name { hasher.combine(name) }
        let hash = UInt64(bitPattern: Int64(hasher.finalize()))
        // The high bits pick the bucket (a multiply, no division), the low bits are the tag.
        let index = Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(limit.tableSize)).high)
        let tag = hash & Self.limitedMask
        let nowMicros = (now.uptimeNanoseconds / 1000) & Self.timeMask

        let bucket = UnsafeAtomic<UInt64>(at: buckets + index)
        var old = bucket.load(ordering: .relaxed)
        // Bounded: under contention the last computed decision stands, unrecorded.
        for _ in 0..<8 {
            let (new, decision) = step(old, tag: tag, now: nowMicros)
            let (exchanged, original) = bucket.weakCompareExchange(expected: old, desired: new, ordering: .relaxed)
            if exchanged { return decision }
            old = original
        }
        return step(old, tag: tag, now: nowMicros).decision
    }

    /// One GCRA step on a bucket's word: the new word and the decision. All arithmetic wraps within 40
    /// bits of microseconds (12.7 days); a bucket untouched longer reads as stale and starts afresh.
    private func step(_ word: UInt64, tag: UInt64, now: UInt64) -> (word: UInt64, decision: Decision) {
        var allowedAt = word & Self.timeMask
        var limited = (word >> Self.timeBits) & Self.limitedMask
        if word >> Self.tagShift != tag {
            allowedAt = now
            limited = 0
        }
        var ahead = (allowedAt &- now) & Self.timeMask
        // In the past (the top bit of the 40-bit difference), or further ahead than any live bucket can be.
        if ahead >= 1 << (Self.timeBits - 1) || ahead > tolerance + interval {
            allowedAt = now
            ahead = 0
        }
        let decision: Decision
        if ahead <= tolerance {
            allowedAt = (allowedAt &+ interval) & Self.timeMask
            limited = 0
            decision = .send
        } else {
            limited = (limited + 1) % limitedWrap
            decision = limit.slip != 0 && limited % UInt64(limit.slip) == 0 ? .slip : .drop
        }
        return (tag << Self.tagShift | limited << Self.timeBits | allowedAt, decision)
    }
}
