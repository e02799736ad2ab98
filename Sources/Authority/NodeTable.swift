import DNSMessage

/// The mutable form of a zone while it is being built: RRsets by owner and type, in insertion order.
///
/// Records are appended in place (no copy of an RRset per record), and duplicates are found by hashing
/// once a set grows past a few records, so a headless Service with thousands of endpoints builds in
/// linear time.
struct NodeTable {
    let origin: DomainName
    /// Owners in insertion order, each with its RRsets.
    private(set) var owners: [(key: [UInt8], sets: [RRSet])] = []
    private var index: [NameKey: Int] = [:]
    /// The records of every large RRset, by owner index and type, for duplicate checks.
    private var largeSetRecords: [RRSetID: Set<RData>] = [:]
    /// Below this size a linear scan beats hashing the record.
    private static let linearScanLimit = 8

    private struct RRSetID: Hashable {
        var owner: Int
        var type: RecordType
    }

    /// `expectedOwners` sizes the table up front, so a large build does not grow it a dozen times.
    init(origin: DomainName, expectedOwners: Int = 0) {
        self.origin = origin
        owners.reserveCapacity(expectedOwners)
        index.reserveCapacity(expectedOwners)
    }

    /// Adds one record to the RRset of its owner and type; a record already there is not added twice.
    /// RFC 2181 §5.2: an RRset has one TTL, so the smallest given wins.
    mutating func add(_ owner: DomainName, _ type: RecordType, ttl: UInt32, _ rdata: RData) {
        let ownerIndex = indexOf(owner)
        guard let setIndex = owners[ownerIndex].sets.firstIndex(where: { $0.type == type }) else {
            owners[ownerIndex].sets.append(RRSet(owner: owner, type: type, ttl: ttl, rdata: [rdata]))
            return
        }
        let count = owners[ownerIndex].sets[setIndex].recordCount
        if count < Self.linearScanLimit {
            guard !owners[ownerIndex].sets[setIndex].rdata.contains(rdata) else { return }
        } else {
            let id = RRSetID(owner: ownerIndex, type: type)
            if largeSetRecords[id] == nil {
                largeSetRecords[id] = Set(owners[ownerIndex].sets[setIndex].rdata)
            }
            guard largeSetRecords[id]!.insert(rdata).inserted else { return }
        }
        owners[ownerIndex].sets[setIndex].rdata.append(rdata)
        owners[ownerIndex].sets[setIndex].ttl = min(owners[ownerIndex].sets[setIndex].ttl, ttl)
    }

    /// Adds every record of `set`.
    mutating func add(_ set: RRSet) {
        for rdata in set.rdata {
            add(set.owner, set.type, ttl: set.ttl, rdata)
        }
    }

    /// Makes a name exist with no records (a headless Service with no ready endpoint still exists).
    mutating func addEmpty(_ owner: DomainName) {
        _ = indexOf(owner)
    }

    private mutating func indexOf(_ owner: DomainName) -> Int {
        let key = owner.lookupKey
        if let existing = index[NameKey(key)] { return existing }
        owners.append((key, []))
        index[NameKey(key)] = owners.count - 1
        return owners.count - 1
    }

    /// Every owner's finished RRsets, with their additionals linked.
    func entries(addresses: AddressIndex) -> [(key: NameKey, entries: [NodeEntry])] {
        owners.map { key, sets in
            (NameKey(key), sets.map { NodeEntry(rrSet: $0, additional: addresses.additional(for: $0)) })
        }
    }

    /// Appends every RRset to `records`, owner by owner; returns where each owner's first set went.
    func appendSets(to records: inout RecordStore.Builder) -> [Int32] {
        owners.map { _, sets in
            let first = Int32(records.count)
            for set in sets {
                records.append(set)
            }
            return first
        }
    }

    /// The finished zone: every owner, every ancestor up to the origin as an empty non-terminal
    /// (RFC 8020: a name with descendants exists), additionals linked, children counted. With `stored`, each
    /// RRset (and each additional one) is the stored copy of this table's (number `table` of the build) rather
    /// than its value: the records then live in the store's buffers, not in arrays of their own.
    func freeze(addresses: AddressIndex, stored: StoredSets? = nil, table: Int = 0) -> NodeMap {
        let originKey = origin.lookupKey
        // Empty non-terminals add a few percent to the owners.
        var nodes = NodeMap(origin: originKey, expectedCount: owners.count + owners.count / 16)
        for (ownerIndex, (key, sets)) in owners.enumerated() {
            let entries = sets.indices.map { setIndex in
                let set = sets[setIndex]
                guard let stored else { return NodeEntry(rrSet: set, additional: addresses.additional(for: set)) }
                let position = AddressIndex.Position(table: table, owner: ownerIndex, set: setIndex)
                return NodeEntry(
                    rrSet: stored[position], additional: addresses.additionalPositions(for: set).map { stored[$0] })
            }
            nodes[NameKey(key)] = Node(entries: entries)
        }
        for (key, _) in owners where key.count > originKey.count {
            nodes.attach(NameKey(key))
        }
        return nodes
    }
}

/// The RRsets of a build's tables as stored in one `RecordStore`, found by their place in the tables.
struct StoredSets {
    let store: RecordStore
    /// Per table, per owner, the index of the owner's first set in the store.
    let firstSets: [[Int32]]

    /// Stores every RRset of `tables`.
    init(tables: [NodeTable]) {
        let sets = tables.reduce(0) { total, table in total + table.owners.reduce(0) { $0 + $1.sets.count } }
        var records = RecordStore.Builder(expectedSets: sets)
        firstSets = tables.map { $0.appendSets(to: &records) }
        store = records.finish()
    }

    subscript(position: AddressIndex.Position) -> RRSet {
        store[Int(firstSets[position.table][position.owner]) + position.set]
    }
}

/// The A/AAAA RRsets of every owner in a build, for linking the additional section (RFC 2782,
/// RFC 1035 §3.3.9). It reads the tables' own indexes rather than copying every address owner into a
/// dictionary of its own: at 1M endpoints that copy was a million entries built and thrown away.
struct AddressIndex {
    private let tables: [NodeTable]

    init(tables: [NodeTable]) {
        self.tables = tables
    }

    /// Where one RRset of a build is: its table, its owner in the table, and its place among the owner's sets.
    struct Position: Hashable {
        var table: Int
        var owner: Int
        var set: Int
    }

    /// The address RRsets of the targets of `set`'s SRV, MX or NS records, each target once.
    func additional(for set: RRSet) -> [RRSet] {
        additionalPositions(for: set).map { tables[$0.table].owners[$0.owner].sets[$0.set] }
    }

    /// Where `additional(for:)`'s RRsets are in the tables.
    func additionalPositions(for set: RRSet) -> [Position] {
        var result: [Position] = []
        var seenTargets: Set<NameKey> = []
        for rdata in set.rdata {
            let target: DomainName
            switch rdata {
            case .srv(_, _, _, let name), .mx(_, let name), .ns(let name): target = name
            default: continue
            }
            let key = NameKey(target.lookupKey)
            guard seenTargets.insert(key).inserted else { continue }
            // Two targets never share an RRset (their owners differ); one target may have the same
            // RRset in two tables (a zone file repeating a cluster name's address).
            var sets: [RRSet] = []
            for (tableIndex, table) in tables.enumerated() {
                for (owner, setIndex) in table.addressSets(of: key) {
                    let found = table.owners[owner].sets[setIndex]
                    guard !sets.contains(found) else { continue }
                    sets.append(found)
                    result.append(Position(table: tableIndex, owner: owner, set: setIndex))
                }
            }
        }
        return result
    }
}

extension NodeTable {
    /// The A and AAAA RRsets owned by `key` in this table: the owner's index and each set's place among its sets.
    func addressSets(of key: NameKey) -> [(owner: Int, set: Int)] {
        guard let at = index[key] else { return [] }
        return owners[at].sets.indices.filter { owners[at].sets[$0].type == .a || owners[at].sets[$0].type == .aaaa }
            .map { (at, $0) }
    }
}
