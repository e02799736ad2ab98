import DNSMessage

/// Packs the zones of a full build while the build produces their names, a few owners at a time (one
/// Service's, one zone file's): each owner's RRsets go straight into the build's one `RecordStore`, and its
/// lowercased name onto the zone's list. No table of the whole cluster is ever held as values, so a build at
/// a million endpoints needs little more memory than the packed snapshot it makes.
///
/// Zones are packed one after the other (`beginZone`, then `add` for each of its owners), so each zone's
/// RRsets are contiguous in the store. `finish` indexes each zone's names, adds the empty non-terminals above
/// them (RFC 8020: a name with descendants exists), and links the additional records of every SRV, MX and NS
/// RRset once for every query (as Knot's adjust step does before a zone is served).
struct ZonePacker {
    private struct ZoneInProgress {
        var originLength: Int
        /// The lowercased wire forms of its names, end to end; name `i` ends at `ends[i]`.
        var keys: [UInt8] = []
        var ends: [UInt32] = []
        var nodes: [PackedZone.Node] = []
        var firstSet: Int
        var hasWildcards = false
        var nameServerOwners: [NameKey] = []
    }

    private var records: RecordStore.Builder
    private var zones: [ZoneInProgress] = []

    init(expectedSets: Int = 0) {
        records = RecordStore.Builder(expectedSets: expectedSets)
    }

    /// Starts the next zone: the owners added from now on are its own.
    mutating func beginZone(origin: DomainName, expectedNames: Int = 0) {
        var zone = ZoneInProgress(originLength: origin.wire.count, firstSet: records.count)
        zone.ends.reserveCapacity(expectedNames)
        zone.nodes.reserveCapacity(expectedNames)
        zones.append(zone)
    }

    /// Adds the owners of `table` to the zone begun last, except those in `skipping`; none of them may be in the
    /// zone already. Returns, per owner of the table, the store index of its first RRset (-1: it has none or
    /// was skipped).
    @discardableResult
    mutating func add(_ table: NodeTable, skipping: Set<NameKey> = []) -> [Int32] {
        table.owners.map { key, sets in
            if !skipping.isEmpty && skipping.contains(NameKey(key)) { return -1 }
            return addOwner(key: key, sets: sets)
        }
    }

    /// Adds one owner with `sets` (which may be none) to the zone begun last; returns the store index of its
    /// first RRset, -1 when it has none.
    @discardableResult
    mutating func addOwner(key: [UInt8], sets: [RRSet]) -> Int32 {
        let first = Int32(records.count)
        for set in sets {
            records.append(set)
        }
        let zone = zones.count - 1
        zones[zone].keys += key
        zones[zone].ends.append(UInt32(zones[zone].keys.count))
        zones[zone].nodes.append(PackedZone.Node(firstSet: UInt32(first), setCount: UInt16(sets.count), children: 0))
        if key.starts(with: [1, UInt8(ascii: "*")]) { zones[zone].hasWildcards = true }
        if sets.contains(where: { $0.type == .ns }) { zones[zone].nameServerOwners.append(NameKey(key)) }
        return sets.isEmpty ? -1 : first
    }

    /// The owner of the RRset at store index `set`, as it was added.
    func owner(ofSet set: Int32) -> DomainName {
        DomainName(uncheckedWire: records.ownerWire(of: Int(set)))
    }

    /// The packed zones, in the order they were begun.
    consuming func finish() -> [PackedZone] {
        let store = records.finish()
        let indexed = zones.map(Self.addingEmptyNonTerminals)
        let names = indexed.map(\.names)
        return indexed.enumerated().map { number, zone in
            let firstSet = zones[number].firstSet
            let end = number + 1 < zones.count ? zones[number + 1].firstSet : store.count
            var linker = AdditionalLinker(store: store, zones: names, nodes: indexed.map(\.nodes))
            var ends: [UInt32] = []
            ends.reserveCapacity(end - firstSet)
            var rotation: [UInt32: RotationCounter] = [:]
            for set in firstSet..<end {
                linker.link(set)
                ends.append(UInt32(linker.links.count))
                if store.recordCount(of: set) > 1 { rotation[UInt32(set)] = RotationCounter(0) }
            }
            return PackedZone(
                names: zone.names, nodes: zone.nodes, records: store, firstSet: firstSet, additionalEnds: ends,
                additional: linker.links, rotation: rotation, hasWildcards: zones[number].hasWildcards,
                nameServerOwners: zones[number].nameServerOwners)
        }
    }

    /// The zone's names indexed, with every missing ancestor up to the origin added as an empty non-terminal
    /// and each name's children counted.
    private static func addingEmptyNonTerminals(_ zone: ZoneInProgress) -> (names: NameIndex, nodes: [PackedZone.Node]) {
        var keys = zone.keys
        var ends = zone.ends
        var nodes = zone.nodes
        let owners = NameIndex(bytes: keys, ends: ends)
        // The few names no one added (namespaces, `_tcp` under a Service, reverse-zone prefixes), by key.
        var added: [NameKey: Int] = [:]
        var number = 0
        while number < ends.count {
            let start = number == 0 ? 0 : Int(ends[number - 1])
            let end = Int(ends[number])
            number += 1
            guard end - start > zone.originLength else { continue }
            let parentStart = start + Int(keys[start]) + 1
            let parent = keys.withUnsafeBytes { bytes in
                owners.number(of: UnsafeRawBufferPointer(rebasing: bytes[parentStart..<end]))
            }
            if let parent {
                nodes[parent].children += 1
                continue
            }
            let key = NameKey(Array(keys[parentStart..<end]))
            if let known = added[key] {
                nodes[known].children += 1
            } else {
                added[key] = nodes.count
                keys += key.bytes
                ends.append(UInt32(keys.count))
                nodes.append(PackedZone.Node(firstSet: 0, setCount: 0, children: 1, isDerived: true))
            }
        }
        return (added.isEmpty ? owners : NameIndex(bytes: keys, ends: ends), nodes)
    }
}

/// Finds the address RRsets of the targets of one RRset's SRV, MX or NS records in every zone of a build
/// (RFC 2782, RFC 1035 §3.3.9): each target once, its A and AAAA sets in their order, an RRset that two
/// zones both hold only once.
private struct AdditionalLinker {
    let store: RecordStore
    let zones: [NameIndex]
    let nodes: [[PackedZone.Node]]
    /// The store indices of the linked RRsets, one RRset's after another's.
    private(set) var links: [UInt32] = []
    private var lowercased: [UInt8] = []

    init(store: RecordStore, zones: [NameIndex], nodes: [[PackedZone.Node]]) {
        self.store = store
        self.zones = zones
        self.nodes = nodes
    }

    mutating func link(_ set: Int) {
        var seenTargets: Set<UInt64> = []
        let setStart = links.count
        store.forEachAdditionalTarget(of: set) { target in
            lowercased.removeAll(keepingCapacity: true)
            lowercased.append(contentsOf: target.lazy.map(Self.asciiLowercase))
            for zone in zones.indices {
                guard let number = lowercased.withUnsafeBytes({ zones[zone].number(of: $0) }),
                    seenTargets.insert(UInt64(zone) << 32 | UInt64(number)).inserted
                else { continue }
                let node = nodes[zone][number]
                for candidate in Int(node.firstSet)..<(Int(node.firstSet) + Int(node.setCount)) {
                    let type = store.type(of: candidate)
                    guard type == .a || type == .aaaa else { continue }
                    // One target may have the same RRset in two zones (a zone file repeating a cluster address).
                    let duplicate = zone > 0 && links[setStart...].contains { store[Int($0)] == store[candidate] }
                    if !duplicate { links.append(UInt32(candidate)) }
                }
            }
        }
    }

    private static func asciiLowercase(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
