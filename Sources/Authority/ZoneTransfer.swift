import DNSMessage
import Locking

/// What a secondary gets for a transfer request (RFC 5936 AXFR, RFC 1995 IXFR), as records in the order they go
/// out; the transport packs them into messages.
public enum TransferPlan: Sendable {
    /// svcdns holds no zone with that apex.
    case notAuthoritative
    /// The whole zone: SOA, every other RRset, SOA (an AXFR, or an IXFR the journal does not reach back for).
    case full(TransferRecords)
    /// The changes since the secondary's serial, in IXFR's form.
    case incremental(TransferRecords)
    /// The secondary has the current version, or a newer one: the current SOA alone.
    case upToDate(RRSet)
}

/// The RRsets of one transfer, read one at a time: a zone of a million names is never copied for it.
public struct TransferRecords: Sendable {
    /// A whole zone, walked; nil for a list made up front (an IXFR's changes).
    private var cursor: ZoneCursor?
    private let sets: [RRSet]
    private var nextSet = 0
    public let soa: RRSet

    init(zone: Zone) {
        cursor = ZoneCursor(zone: zone)
        sets = []
        soa = zone.soa
    }

    init(sets: [RRSet], soa: RRSet) {
        cursor = nil
        self.sets = sets
        self.soa = soa
    }

    public mutating func next() -> RRSet? {
        if cursor != nil { return cursor!.next() }
        guard nextSet < sets.count else { return nil }
        defer { nextSet += 1 }
        return sets[nextSet]
    }
}

/// Walks a zone as AXFR sends it: the SOA, each name's RRsets but the apex SOA (the packed names first, then
/// those changed since packing), and the SOA again. Synthesised names (pod records) are not data, and are not sent.
struct ZoneCursor: Sendable {
    private let zone: Zone
    private var stage = Stage.firstSOA
    private var pending: [RRSet] = []
    private var changedKeys: [NameKey] = []

    private enum Stage: Sendable {
        case firstSOA
        case packed(Int)
        case changed(Int)
        case lastSOA
        case done
    }

    init(zone: Zone) {
        self.zone = zone
    }

    mutating func next() -> RRSet? {
        while true {
            if !pending.isEmpty { return pending.removeLast() }
            switch stage {
            case .firstSOA:
                stage = .packed(0)
                return zone.soa
            case .packed(let number):
                guard number < zone.nodes.packedCount else {
                    changedKeys = zone.nodes.changedKeys
                    stage = .changed(0)
                    continue
                }
                stage = .packed(number + 1)
                if let owner = zone.nodes.packedOwner(number) { take(owner.key, owner.sets) }
            case .changed(let index):
                guard index < changedKeys.count else {
                    stage = .lastSOA
                    continue
                }
                stage = .changed(index + 1)
                if let node = zone.nodes.find(changedKeys[index])?.node {
                    take(changedKeys[index], node.entries.map(\.rrSet))
                }
            case .lastSOA:
                stage = .done
                return zone.soa
            case .done:
                return nil
            }
        }
    }

    private mutating func take(_ key: NameKey, _ sets: [RRSet]) {
        pending = sets.reversed().filter { !($0.type == .soa && key.bytes == zone.originKey) }
    }
}

/// The change between two versions of a zone: what IXFR sends for it (RFC 1995 §4).
struct ZoneDiff: Sendable {
    var from: RRSet
    var to: RRSet
    var removed: [RRSet]
    var added: [RRSet]

    var recordCount: Int { 2 + removed.reduce(0) { $0 + $1.recordCount } + added.reduce(0) { $0 + $1.recordCount } }
    var fromSerial: UInt32 { from.soaSerial }

    /// The RRsets of `new` that are not in `old` and those of `old` not in `new`, record by record; nil when the
    /// versions hold the same records. Only the names either changed since packing are compared when both share
    /// their packed names (an incremental update); every name otherwise.
    init?(from old: Zone, to new: Zone) {
        var removed: [RRSet] = []
        var added: [RRSet] = []
        func compare(_ key: NameKey, old oldSets: [RRSet], new newSets: [RRSet]) {
            let apex = key.bytes == new.originKey
            let before = Self.records(oldSets, apex: apex)
            let after = Self.records(newSets, apex: apex)
            guard before != after else { return }
            let owner = (newSets.first ?? oldSets.first)!.owner
            removed += Self.sets(before.subtracting(after), owner: owner)
            added += Self.sets(after.subtracting(before), owner: owner)
        }
        func sets(_ nodes: ZoneNodes, _ key: NameKey) -> [RRSet] {
            nodes.find(key)?.node.entries.map(\.rrSet) ?? []
        }
        if old.nodes.sharesPacking(with: new.nodes) {
            for key in Set(old.nodes.changedKeys + new.nodes.changedKeys) {
                compare(key, old: sets(old.nodes, key), new: sets(new.nodes, key))
            }
        } else {
            for number in 0..<new.nodes.packedCount {
                guard let owner = new.nodes.packedOwner(number) else { continue }
                compare(owner.key, old: sets(old.nodes, owner.key), new: owner.sets)
            }
            for key in new.nodes.changedKeys {
                compare(key, old: sets(old.nodes, key), new: sets(new.nodes, key))
            }
            // What the old version had and the new one has nowhere.
            for number in 0..<old.nodes.packedCount {
                guard let owner = old.nodes.packedOwner(number), new.nodes.find(owner.key) == nil else { continue }
                compare(owner.key, old: owner.sets, new: [])
            }
            for key in old.nodes.changedKeys where new.nodes.find(key) == nil {
                compare(key, old: sets(old.nodes, key), new: [])
            }
        }
        guard !removed.isEmpty || !added.isEmpty || old.soa != new.soa else { return nil }
        self.from = old.soa.detached
        self.to = new.soa.detached
        self.removed = removed
        self.added = added
    }

    /// One record of an owner, as compared: a changed TTL is a changed record.
    private struct Record: Hashable {
        var type: RecordType
        var ttl: UInt32
        var rdata: RData
    }

    private static func records(_ sets: [RRSet], apex: Bool) -> Set<Record> {
        var records: Set<Record> = []
        for set in sets where !(apex && set.type == .soa) {
            for rdata in set.rdata { records.insert(Record(type: set.type, ttl: set.ttl, rdata: rdata)) }
        }
        return records
    }

    /// Records grouped back into value sets: a journal must not hold on to a whole snapshot's record store.
    private static func sets(_ records: Set<Record>, owner: DomainName) -> [RRSet] {
        var byType: [RecordType: RRSet] = [:]
        for record in records {
            byType[record.type, default: RRSet(owner: owner, type: record.type, ttl: record.ttl, rdata: [])].rdata.append(record.rdata)
        }
        return byType.values.sorted { $0.type.rawValue < $1.type.rawValue }
    }
}

extension RRSet {
    /// A value set with this one's owner, TTL and records, holding on to no record store.
    var detached: RRSet { RRSet(owner: owner, type: type, ttl: ttl, rdata: rdata) }

    /// The serial of an SOA set; 0 for any other.
    var soaSerial: UInt32 {
        guard case .soa(let data) = rdata.first else { return 0 }
        return data.serial
    }
}

/// RFC 1982 serial number arithmetic: true when `serial` is newer than `other`.
func isSerial(_ serial: UInt32, newerThan other: UInt32) -> Bool {
    serial != other && Int32(bitPattern: serial &- other) > 0
}

/// The versions of each zone secondaries may transfer, and the changes between them (IXFR's journal).
///
/// A version is recorded from a published snapshot (`record`), at most as often as the caller asks; transfers
/// are answered from the last recorded version, so every serial a secondary holds is one the journal knows.
/// Recording runs off the query path (a diff of a zone changed whole takes a walk of both versions); a transfer
/// only reads what was recorded, under a lock held for a copy of a few references.
public final class TransferJournal: Sendable {
    private struct History: Sendable {
        var diffs: [ZoneDiff] = []
        var recordCount = 0
    }

    private struct State: Sendable {
        var recorded: Snapshot? = nil
        var histories: [[UInt8]: History] = [:]
    }

    private let state = Locked(State())
    /// `--transfer-journal`: changed records kept per zone; older changes are forgotten (IXFR falls back to AXFR).
    public let maxRecords: Int

    public static let defaultMaxRecords = 100_000

    public init(maxRecords: Int = defaultMaxRecords) {
        self.maxRecords = maxRecords
    }

    /// What `record` found.
    public struct Recording: Sendable {
        /// The zones whose SOA serial changed since the last recording (each needs a NOTIFY), with their SOA.
        public var changedZones: [(apex: DomainName, soa: RRSet)] = []
        /// Zones whose records changed while their serial did not grow (a zone file edited without a new serial):
        /// their secondaries will not see the change, and their journal was dropped.
        public var unchangedSerials: [DomainName] = []
    }

    /// Makes `snapshot` the version transfers are answered from, keeping the changes since the last one.
    @discardableResult
    public func record(_ snapshot: Snapshot) -> Recording {
        let previous = state.withLock { $0.recorded }
        guard previous !== snapshot else { return Recording() }
        var recording = Recording()
        var diffs: [[UInt8]: ZoneDiff?] = [:]
        for zone in snapshot.zones {
            guard let old = previous?.zones.first(where: { $0.originKey == zone.originKey }) else {
                recording.changedZones.append((zone.origin, zone.soa))
                diffs[zone.originKey] = .some(nil)
                continue
            }
            let newSerial = zone.soa.soaSerial
            let oldSerial = old.soa.soaSerial
            guard let diff = ZoneDiff(from: old, to: zone) else { continue }
            if isSerial(newSerial, newerThan: oldSerial) {
                recording.changedZones.append((zone.origin, zone.soa))
                diffs[zone.originKey] = .some(diff)
            } else {
                recording.unchangedSerials.append(zone.origin)
                diffs[zone.originKey] = .some(nil)
            }
        }
        state.withLock { state in
            state.recorded = snapshot
            // Zones gone from the snapshot take their history with them.
            let origins = Set(snapshot.zones.map(\.originKey))
            state.histories = state.histories.filter { origins.contains($0.key) }
            for (origin, diff) in diffs {
                guard let diff else {
                    state.histories[origin] = History()
                    continue
                }
                var history = state.histories[origin] ?? History()
                history.diffs.append(diff)
                history.recordCount += diff.recordCount
                while history.recordCount > maxRecords, !history.diffs.isEmpty {
                    history.recordCount -= history.diffs.removeFirst().recordCount
                }
                state.histories[origin] = history
            }
        }
        return recording
    }

    /// What a secondary asking for the zone at `apex` gets: `clientSerial` is an IXFR's, nil for an AXFR.
    public func plan(apex: DomainName, clientSerial: UInt32?) -> TransferPlan {
        let key = apex.lookupKey
        let (zone, history) = state.withLock { state in
            (state.recorded?.zones.first { $0.originKey == key }, state.histories[key])
        }
        guard let zone else { return .notAuthoritative }
        guard let clientSerial else { return .full(TransferRecords(zone: zone)) }
        let current = zone.soa.soaSerial
        if !isSerial(current, newerThan: clientSerial) { return .upToDate(zone.soa) }
        guard let diffs = history?.diffs, let start = diffs.firstIndex(where: { $0.fromSerial == clientSerial }) else {
            return .full(TransferRecords(zone: zone))
        }
        // RFC 1995 §4: the current SOA, then per change the old SOA, what went, the new SOA, what came; the current
        // SOA again at the end.
        var sets = [zone.soa]
        for diff in diffs[start...] {
            sets.append(diff.from)
            sets += diff.removed
            sets.append(diff.to)
            sets += diff.added
        }
        sets.append(zone.soa)
        return .incremental(TransferRecords(sets: sets, soa: zone.soa))
    }
}
