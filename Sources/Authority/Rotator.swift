import Atomics
import DNSMessage

/// How multi-record answers are ordered (`--rotate`).
public enum RotationMode: String, Hashable, Sendable, CaseIterable {
    /// Over k·n queries for one RRset of n records, each record leads exactly k times.
    case roundRobin = "round-robin"
    /// Each answer starts at a record picked at random.
    case random
    /// Records keep their zone order.
    case none
}

/// The rotate stage of the query path: picks where each multi-record RRset starts, and how many of its
/// records go out (`--max-answers`).
///
/// The counters are the one mutable thing queries share: one relaxed atomic per rotating RRset, so
/// rotation is fair across event loops and transports without a lock, and presenting a rotated set
/// copies no records (the encoder starts at `firstRecord`). CoreDNS's loadbalance plugin shuffles a
/// copy of the records instead; this avoids the copy.
final class Rotator: Sendable {
    let mode: RotationMode
    let maxAnswers: Int
    // Written only through atomic operations; allocated in init, freed in deinit.
    nonisolated(unsafe) private let counters: UnsafeMutablePointer<UnsafeAtomic<UInt32>.Storage>
    private let count: Int
    /// Mixed into random starts so two snapshots do not repeat one sequence.
    private let seed: UInt64

    init(mode: RotationMode, maxAnswers: Int, slots: Int) {
        self.mode = mode
        self.maxAnswers = maxAnswers
        count = max(slots, 1)
        counters = .allocate(capacity: count)
        counters.initialize(repeating: UnsafeAtomic<UInt32>.Storage(0), count: count)
        seed = UInt64.random(in: .min ... .max)
    }

    deinit {
        counters.deinitialize(count: count)
        counters.deallocate()
    }

    /// The set as one response presents it. `slot` is the RRset's counter (negative: not rotating).
    func present(_ set: RRSet, slot: Int32) -> RRSet {
        let size = set.rdata.count
        guard size > 1 else { return set }
        var presented = set
        if maxAnswers > 0 { presented.recordLimit = maxAnswers }
        guard slot >= 0, mode != .none else { return presented }
        let ticket = UnsafeAtomic<UInt32>(at: counters + Int(slot)).loadThenWrappingIncrement(ordering: .relaxed)
        switch mode {
        case .roundRobin:
            presented.firstRecord = Int(ticket % UInt32(size))
        case .random:
            presented.firstRecord = Int(Self.mix(UInt64(ticket) ^ seed) % UInt64(size))
        case .none:
            break
        }
        return presented
    }

    /// SplitMix64's finaliser: a cheap, well-spread hash of the ticket, with no system call per query.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
