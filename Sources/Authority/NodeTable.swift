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
    /// The leading-record schedules of weighted RRsets (`svcdns.io/weights`), by owner index and type.
    private var leaders: [RRSetID: [UInt16]] = [:]

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

    /// Makes the RRset of `owner` and `type` lead by `schedule` (see `RotationCounter.leaders(weights:)`), or by
    /// plain rotation when it is nil. The schedule indexes the set's records as added.
    mutating func setLeaders(_ owner: DomainName, _ type: RecordType, _ schedule: [UInt16]?) {
        let id = RRSetID(owner: indexOf(owner), type: type)
        leaders[id] = schedule
    }

    /// The leading-record schedule of the `type` RRset of the owner at `ownerIndex`, if it is weighted.
    func leaders(ownerIndex: Int, type: RecordType) -> [UInt16]? {
        leaders.isEmpty ? nil : leaders[RRSetID(owner: ownerIndex, type: type)]
    }

    /// Makes a name exist with no records (a headless Service with no ready endpoint still exists).
    mutating func addEmpty(_ owner: DomainName) {
        _ = indexOf(owner)
    }

    /// The place of `key`'s owner in `owners`, or nil when the table has no such owner.
    func ownerIndex(of key: NameKey) -> Int? {
        index[key]
    }

    /// The RRsets of `key`'s owner.
    func sets(of key: NameKey) -> [RRSet] {
        index[key].map { owners[$0].sets } ?? []
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
        owners.indices.map { owner in
            let (key, sets) = owners[owner]
            return (
                NameKey(key),
                sets.map { set in
                    var entry = NodeEntry(rrSet: set, additional: addresses.additional(for: set))
                    if let schedule = leaders(ownerIndex: owner, type: set.type) {
                        entry.rotation = RotationCounter(leaders: schedule)
                    }
                    return entry
                }
            )
        }
    }
}

/// The A/AAAA RRsets of the owners of a few tables, for linking the additional section (RFC 2782,
/// RFC 1035 §3.3.9) of the names an incremental update makes; a full build links in `ZonePacker`.
struct AddressIndex {
    private let tables: [NodeTable]

    init(tables: [NodeTable]) {
        self.tables = tables
    }

    /// The address RRsets of the targets of `set`'s SRV, MX or NS records, each target once.
    func additional(for set: RRSet) -> [RRSet] {
        var result: [RRSet] = []
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
            for table in tables {
                for (owner, setIndex) in table.addressSets(of: key) {
                    let found = table.owners[owner].sets[setIndex]
                    guard !sets.contains(found) else { continue }
                    sets.append(found)
                }
            }
            result += sets
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
