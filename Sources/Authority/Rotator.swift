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
struct Rotator: Sendable {
    let mode: RotationMode
    let maxAnswers: Int
    /// Mixed into random starts so two runs do not repeat one sequence.
    private let seed: UInt64

    init(mode: RotationMode, maxAnswers: Int) {
        self.mode = mode
        self.maxAnswers = maxAnswers
        seed = UInt64.random(in: .min ... .max)
    }

    /// The set as one response presents it, taking the next ticket of its counter (nil: not rotating).
    func present(_ set: RRSet, counter: RotationCounter?) -> RRSet {
        let size = set.recordCount
        guard size > 1 else { return set }
        var presented = set
        if maxAnswers > 0 { presented.recordLimit = maxAnswers }
        guard let counter, mode != .none else { return presented }
        let ticket = counter.loadThenWrappingIncrement(ordering: .relaxed)
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

/// One rotating RRset's count of answers given: a relaxed atomic, shared by every event loop.
typealias RotationCounter = ManagedAtomic<UInt32>
