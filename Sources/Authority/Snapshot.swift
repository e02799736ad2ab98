import Atomics
import DNSMessage
import ServiceModel

/// Everything svcdns answers from, built whole off the query path and never changed after.
///
/// The query path loads one Snapshot per query and reads only it, so a rebuild never blocks a query and
/// a query never sees half of a change. ARC frees an old snapshot when its last reader is done with it.
public final class Snapshot: Sendable, AtomicReference {
    /// Counts builds, so logs and tests can tell snapshots apart.
    public let generation: UInt64
    /// The zones svcdns is authoritative for, longest origin first so the first match is the closest.
    let zones: [Zone]
    /// Counts of what went in, for logs and `svcdns check`.
    public let summary: SnapshotSummary
    /// Orders multi-record answers; its counters are the only state queries share.
    let rotator: Rotator

    init(generation: UInt64, zones: [Zone], summary: SnapshotSummary, rotator: Rotator) {
        self.generation = generation
        self.zones = zones.sorted { $0.origin.wire.count > $1.origin.wire.count }
        self.summary = summary
        self.rotator = rotator
    }

    /// An empty snapshot: authoritative for nothing (every query is outside its zones).
    public static func empty() -> Snapshot {
        Snapshot(generation: 0, zones: [], summary: SnapshotSummary(), rotator: Rotator(mode: .none, maxAnswers: 0))
    }

    /// True when incremental updates have changed so many names since the last full build (a sixteenth, and at
    /// least 4,096) that the next change should build afresh: a changed name costs a few hundred bytes in the
    /// map of changes, and a packed one a few dozen.
    var needsRepacking: Bool {
        let changed = zones.reduce(0) { $0 + $1.nodes.changeCount }
        return changed > max(4096, summary.names / 16)
    }

    /// The bytes the packed zones' arrays take, the records' store among them (for the memory figures).
    public var packedByteCount: Int {
        zones.reduce(0) { $0 + $1.nodes.packedByteCount } + (zones.first?.nodes.storeByteCount ?? 0)
    }

    /// The zone a name falls in: the one with the longest origin that the name is at or below.
    func zone(containing key: [UInt8]) -> Zone? {
        zones.first { zone in Self.key(key, isAtOrBelow: zone.originKey) }
    }

    /// True when `key` ends with `ancestor` at a label boundary (both lowercased wire forms).
    static func key(_ key: [UInt8], isAtOrBelow ancestor: [UInt8]) -> Bool {
        DomainName.key(key, isAtOrBelow: ancestor)
    }
}

/// What a snapshot was built from, counted.
public struct SnapshotSummary: Hashable, Sendable {
    public var services = 0
    public var headlessServices = 0
    public var externalNames = 0
    public var endpointAddresses = 0
    public var staticZones = 0
    public var names = 0
    /// Endpoints left out of answers because the health checker found them down (or not yet up).
    public var prunedEndpoints = 0
    /// Services answered with every address although none is healthy (fail open).
    public var failOpenServices: [ObjectKey] = []
    /// Services answered with every endpoint because too few are healthy (the panic threshold), sorted.
    public var panickingServices: [ObjectKey] = []

    public init() {}
}

/// The current snapshot, swapped whole by the writer and read lock-free by every query.
///
/// Hummingbird's DateCache pattern: a strong reference in a `ManagedAtomic`, stored with release
/// and loaded with acquire ordering so a reader sees a fully built snapshot.
public final class SnapshotStore: Sendable {
    private let current: ManagedAtomic<Snapshot>

    public init(_ initial: Snapshot = .empty()) {
        current = ManagedAtomic(initial)
    }

    /// The snapshot to answer one query from. Cheap: one atomic load and a retain.
    public func load() -> Snapshot {
        current.load(ordering: .acquiring)
    }

    /// Makes `next` the snapshot every later query reads.
    public func publish(_ next: Snapshot) {
        current.store(next, ordering: .releasing)
    }
}
