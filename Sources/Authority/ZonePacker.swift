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
        /// Where each of its names starts among the store's names.
        var starts: [UInt32] = []
        var nodes: [PackedZone.Node] = []
        var firstSet: Int
        var hasWildcards = false
        var nameServerOwners: [NameKey] = []
        /// The leading-record schedules of weighted RRsets, by store index.
        var leaders: [UInt32: [UInt16]] = [:]
    }

    private var records: RecordStore.Builder
    private var zones: [ZoneInProgress] = []

    init(expectedSets: Int = 0) {
        records = RecordStore.Builder(expectedSets: expectedSets)
    }

    /// Starts the next zone: the owners added from now on are its own.
    mutating func beginZone(origin: DomainName, expectedNames: Int = 0) {
        var zone = ZoneInProgress(originLength: origin.wire.count, firstSet: records.count)
        zone.starts.reserveCapacity(expectedNames)
        zone.nodes.reserveCapacity(expectedNames)
        zones.append(zone)
    }

    /// Adds the owners of `table` to the zone begun last, except those in `skipping`; none of them may be in the
    /// zone already. A name in a record that is one of the table's owners (an SRV record's target, a CNAME to a
    /// sibling) is stored as a reference to it. Returns, per owner of the table, the store index of its first
    /// RRset (-1: it has none or was skipped).
    @discardableResult
    mutating func add(_ table: NodeTable, skipping: Set<NameKey> = []) -> [Int32] {
        let owners = table.owners
        let added = owners.map { key, _ in skipping.isEmpty || !skipping.contains(NameKey(key)) }
        // Every owner's name first, so that records naming an owner later in the table can refer to it.
        let names = owners.indices.map { owner in
            added[owner] ? appendName(key: owners[owner].key, wire: owners[owner].sets.first?.owner.wire) : (start: 0, node: 0)
        }
        let reference = { (name: DomainName) -> UInt32? in
            table.ownerIndex(of: NameKey(name.lookupKey)).flatMap { added[$0] ? names[$0].start : nil }
        }
        return owners.indices.map { owner in
            guard added[owner] else { return -1 }
            let first = appendSets(owners[owner].sets, node: names[owner].node, ownerStart: names[owner].start, reference: reference)
            for (offset, set) in owners[owner].sets.enumerated() {
                if let schedule = table.leaders(ownerIndex: owner, type: set.type) {
                    zones[zones.count - 1].leaders[UInt32(Int(first) + offset)] = schedule
                }
            }
            return first
        }
    }

    /// Adds one owner with `sets` (which may be none) to the zone begun last; returns the store index of its
    /// first RRset, -1 when it has none.
    @discardableResult
    mutating func addOwner(key: [UInt8], sets: [RRSet]) -> Int32 {
        let name = appendName(key: key, wire: sets.first?.owner.wire)
        return appendSets(sets, node: name.node, ownerStart: name.start, reference: nil)
    }

    /// Adds `owner` to the zone begun last with one PTR RRset naming the owners of the store's RRsets `targets`.
    mutating func addPointers(owner: DomainName, ttl: UInt32, targets: [Int32]) {
        let name = appendName(key: owner.lookupKey, wire: owner.wire)
        let zone = zones.count - 1
        zones[zone].nodes[name.node].firstSet = UInt32(records.count)
        zones[zone].nodes[name.node].setCount = 1
        records.appendReferences(
            type: .ptr, ttl: ttl, ownerStart: name.start, ownerLength: owner.wire.count,
            targets: targets.map { records.ownerStart(of: Int($0)) })
    }

    /// Puts a name into the store's names (as `wire` has it, else as `key`) and onto the zone's list, with a node
    /// of no RRsets yet; returns where the name starts and the node's number.
    private mutating func appendName(key: [UInt8], wire: [UInt8]?) -> (start: UInt32, node: Int) {
        let start = records.appendName(wire ?? key)
        let zone = zones.count - 1
        zones[zone].starts.append(start)
        zones[zone].nodes.append(PackedZone.Node(firstSet: 0, setCount: 0, children: 0))
        if key.starts(with: [1, UInt8(ascii: "*")]) { zones[zone].hasWildcards = true }
        return (start, zones[zone].nodes.count - 1)
    }

    /// Appends the RRsets of the owner whose name starts at `ownerStart` and whose node is `node`.
    private mutating func appendSets(
        _ sets: [RRSet], node: Int, ownerStart: UInt32, reference: ((DomainName) -> UInt32?)?
    ) -> Int32 {
        let zone = zones.count - 1
        let first = Int32(records.count)
        zones[zone].nodes[node].firstSet = UInt32(first)
        zones[zone].nodes[node].setCount = UInt16(sets.count)
        for set in sets {
            records.append(set, ownerStart: ownerStart, reference: reference)
        }
        if sets.contains(where: { $0.type == .ns }) {
            zones[zone].nameServerOwners.append(NameKey(DomainName(uncheckedWire: sets[0].owner.wire).lookupKey))
        }
        return sets.isEmpty ? -1 : first
    }

    /// The owner of the RRset at store index `set`, as it was added.
    func owner(ofSet set: Int32) -> DomainName {
        DomainName(uncheckedWire: records.ownerWire(of: Int(set)))
    }

    /// The packed zones, in the order they were begun.
    consuming func finish() -> [PackedZone] {
        // Each zone's owners indexed with room for its empty non-terminals, which are found with the index's help
        // and then added to it, so that no zone's names are hashed twice.
        var owners: [NameIndex] = []
        var addedNames: [[[UInt8]]] = []
        for zone in zones.indices {
            let index = NameIndex(
                bytes: records.nameBytes, starts: zones[zone].starts, reserve: zones[zone].starts.count / 8)
            addedNames.append(emptyNonTerminals(of: zone, owners: index))
            // Without the builder's buffer, so that appending below does not copy it.
            owners.append(index.detached())
        }
        let addedStarts = addedNames.map { $0.map { records.appendName($0) } }
        addedNames = []
        let store = records.finish()
        let names = owners.indices.map { owners[$0].adding(addedStarts[$0], in: store.nameBytes) }
        owners = []
        let nodes = zones.map(\.nodes)
        var packed: [PackedZone] = []
        for (number, zone) in zones.enumerated() {
            let end = number + 1 < zones.count ? zones[number + 1].firstSet : store.count
            var linker = AdditionalLinker(store: store, zones: names, nodes: nodes)
            var ends: [UInt32] = []
            ends.reserveCapacity(end - zone.firstSet)
            var rotation: [UInt32: RotationCounter] = [:]
            for set in zone.firstSet..<end {
                linker.link(set)
                ends.append(UInt32(linker.links.count))
                if store.recordCount(of: set) > 1 { rotation[UInt32(set)] = RotationCounter(leaders: zone.leaders[UInt32(set)]) }
            }
            packed.append(
                PackedZone(
                    names: names[number], nodes: zone.nodes, records: store, firstSet: zone.firstSet,
                    additionalEnds: ends, additional: linker.links, rotation: rotation, hasWildcards: zone.hasWildcards,
                    nameServerOwners: zone.nameServerOwners))
        }
        return packed
    }

    /// Finds every missing ancestor of the zone's names up to its origin (an empty non-terminal), counting each
    /// name's children; appends their nodes to the zone and returns their names. `owners` indexes the zone's names
    /// as added.
    private mutating func emptyNonTerminals(of zone: Int, owners: NameIndex) -> [[UInt8]] {
        let originLength = zones[zone].originLength
        // The few names no one added (namespaces, `_tcp` under a Service, reverse-zone prefixes), by key.
        var added: [NameKey: Int] = [:]
        var addedNames: [[UInt8]] = []
        var nodes = zones[zone].nodes
        var key: [UInt8] = []
        var number = 0
        while number < nodes.count {
            key.removeAll(keepingCapacity: true)
            if number < owners.count {
                owners.withName(number) { key.append(contentsOf: $0.lazy.map(NameIndex.lowercase)) }
            } else {
                key += addedNames[number - owners.count]
            }
            number += 1
            guard key.count > originLength, let first = key.first, first > 0 else { continue }
            let parentStart = Int(first) + 1
            if let known = key.withUnsafeBytes({ owners.number(of: UnsafeRawBufferPointer(rebasing: $0[parentStart...])) }) {
                nodes[known].children += 1
                continue
            }
            let parent = NameKey(Array(key[parentStart...]))
            if let known = added[parent] {
                nodes[known].children += 1
            } else {
                added[parent] = nodes.count
                addedNames.append(parent.bytes)
                nodes.append(PackedZone.Node(firstSet: 0, setCount: 0, children: 1, isDerived: true))
            }
        }
        zones[zone].nodes = nodes
        return addedNames
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

    init(store: RecordStore, zones: [NameIndex], nodes: [[PackedZone.Node]]) {
        self.store = store
        self.zones = zones
        self.nodes = nodes
    }

    mutating func link(_ set: Int) {
        var seenTargets: Set<UInt64> = []
        let setStart = links.count
        store.forEachAdditionalTarget(of: set) { target in
            // Hashed once for every zone; copied only when it has capitals to fold.
            guard target.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
                linkTarget(target, setStart: setStart, seenTargets: &seenTargets)
                return
            }
            var lowercased = target.map(Self.asciiLowercase)
            lowercased.withUnsafeMutableBytes { linkTarget(UnsafeRawBufferPointer($0), setStart: setStart, seenTargets: &seenTargets) }
        }
    }

    /// Links the address RRsets of the name `key` (lowercased) in every zone, unless linked for this set already.
    private mutating func linkTarget(_ key: UnsafeRawBufferPointer, setStart: Int, seenTargets: inout Set<UInt64>) {
        let hash = NameKey.mix(key)
        for zone in zones.indices {
            guard let number = zones[zone].number(of: key, hash: hash),
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

    private static func asciiLowercase(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
