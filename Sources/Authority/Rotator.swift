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
        let ticket = counter.tickets.loadThenWrappingIncrement(ordering: .relaxed)
        // Weighted sets lead by their schedule: ticket t leads with schedule[t mod its length].
        let slot = start(ticket: ticket, of: counter.leaders?.count ?? size)
        presented.firstRecord = counter.leaders.map { Int($0[slot]) } ?? slot
        return presented
    }

    /// A zone-following set as a client in a zone gets it: `near` (the records of endpoints in its zone) rotated,
    /// then `far` rotated, each by the set's next ticket (or only `near`, with `onlyNear`: `--max-answers`
    /// windows the answer, or the Service requires the zone). A value set, copied per answer: only zone-following
    /// Services asked from a known zone pay for it.
    func present(near: [RData], far: [RData], of set: RRSet, counter: RotationCounter?, onlyNear: Bool) -> RRSet {
        let ticket = counter?.tickets.loadThenWrappingIncrement(ordering: .relaxed) ?? 0
        func rotated(_ records: [RData]) -> [RData] {
            guard records.count > 1 else { return records }
            let first = start(ticket: ticket, of: records.count)
            return Array(records[first...] + records[..<first])
        }
        let records = onlyNear ? rotated(near) : rotated(near) + rotated(far)
        return RRSet(
            owner: set.owner, type: set.type, ttl: set.ttl, rdata: records, recordLimit: maxAnswers
        )
    }

    /// Where ticket `ticket` starts among `count` places: in turn, at random, or always at the first.
    private func start(ticket: UInt32, of count: Int) -> Int {
        switch mode {
        case .roundRobin: Int(UInt64(ticket) % UInt64(count))
        case .random: Int(Self.mix(UInt64(ticket) ^ seed) % UInt64(count))
        case .none: 0
        }
    }

    /// SplitMix64's finaliser: a cheap, well-spread hash of the ticket, with no system call per query.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One rotating RRset's count of answers given (a relaxed atomic, shared by every event loop) and, for a
/// weighted set, which record leads at each count.
final class RotationCounter: Sendable {
    let tickets = ManagedAtomic<UInt32>(0)
    /// One cycle of leading records' indices (`svcdns.io/weights`), nil for plain round robin.
    let leaders: [UInt16]?

    init(leaders: [UInt16]? = nil) {
        self.leaders = leaders
    }

    /// Smooth weighted round robin (nginx's): over one cycle of Σweights picks, record i leads weights[i] times,
    /// each time as far from its last as the others allow, never in a burst. Per pick every record gains its
    /// weight, and the one with the most (the first, on a tie) leads and gives up the total.
    ///
    /// Nil when the weights are all alike (plain rotation does the same) or the cycle is too long to keep
    /// (`maxCycle`): computing it costs records × cycle.
    static func leaders(weights: [Int]) -> [UInt16]? {
        let total = weights.reduce(0, +)
        guard weights.count > 1, weights.count <= Int(UInt16.max), total <= maxCycle,
            weights.contains(where: { $0 != weights[0] })
        else { return nil }
        var current = [Int](repeating: 0, count: weights.count)
        var leaders: [UInt16] = []
        leaders.reserveCapacity(total)
        for _ in 0..<total {
            var best = 0
            for index in weights.indices {
                current[index] += weights[index]
                if current[index] > current[best] { best = index }
            }
            current[best] -= total
            leaders.append(UInt16(best))
        }
        return leaders
    }

    /// The longest cycle kept: at most 4,096 leads (about 40 endpoints of weight 100), 8 KiB per RRset.
    static let maxCycle = 4096
}
