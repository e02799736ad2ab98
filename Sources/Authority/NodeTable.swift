import DNSMessage

/// The mutable form of a zone while it is being built: RRsets by owner and type, in insertion order.
struct NodeTable {
    let origin: DomainName
    private(set) var rrSets: [[UInt8]: [RRSet]] = [:]
    private var order: [[UInt8]] = []

    init(origin: DomainName) {
        self.origin = origin
    }

    /// Adds one record to the RRset of its owner and type; a record already there is not added twice.
    /// RFC 2181 §5.2: an RRset has one TTL, so the smallest given wins.
    mutating func add(_ owner: DomainName, _ type: RecordType, ttl: UInt32, _ rdata: RData) {
        add(RRSet(owner: owner, type: type, ttl: ttl, rdata: [rdata]))
    }

    mutating func add(_ set: RRSet) {
        let key = set.owner.lookupKey
        guard var sets = rrSets[key] else {
            rrSets[key] = [set]
            order.append(key)
            return
        }
        if let index = sets.firstIndex(where: { $0.type == set.type }) {
            for rdata in set.rdata where !sets[index].rdata.contains(rdata) {
                sets[index].rdata.append(rdata)
            }
            sets[index].ttl = min(sets[index].ttl, set.ttl)
        } else {
            sets.append(set)
        }
        rrSets[key] = sets
    }

    /// Makes a name exist with no records (a headless Service with no ready endpoint still exists).
    mutating func addEmpty(_ owner: DomainName) {
        let key = owner.lookupKey
        if rrSets[key] == nil {
            rrSets[key] = []
            order.append(key)
        }
    }

    /// The finished nodes: every owner, every ancestor up to the origin as an empty non-terminal
    /// (RFC 8020: a name with descendants exists), and additionals linked.
    /// Every RRset of more than one record gets the next rotation slot from `slots`.
    func freeze(addresses: AddressIndex, slots: inout Int32) -> [[UInt8]: Node] {
        var nodes: [[UInt8]: Node] = [:]
        nodes.reserveCapacity(rrSets.count * 2)
        let originKey = origin.lookupKey
        for key in order {
            let sets = rrSets[key] ?? []
            var entries: [NodeEntry] = []
            entries.reserveCapacity(sets.count)
            for set in sets {
                var entry = NodeEntry(rrSet: set, additional: addresses.additional(for: set))
                if set.rdata.count > 1 {
                    entry.rotationSlot = slots
                    slots += 1
                }
                entries.append(entry)
            }
            nodes[key] = Node(entries: entries)
            var ancestor = key
            while ancestor.count > originKey.count {
                ancestor = Array(ancestor[(Int(ancestor[0]) + 1)...])
                if nodes[ancestor] != nil || rrSets[ancestor] != nil { break }
                nodes[ancestor] = .emptyNonTerminal
            }
        }
        return nodes
    }
}

/// A/AAAA RRsets of every owner in a build, for linking the additional section (RFC 2782, RFC 1035 §3.3.9).
struct AddressIndex {
    private var addresses: [[UInt8]: [RRSet]] = [:]

    init(tables: [NodeTable]) {
        for table in tables {
            for (key, sets) in table.rrSets {
                let found = sets.filter { $0.type == .a || $0.type == .aaaa }
                if !found.isEmpty { addresses[key, default: []].append(contentsOf: found) }
            }
        }
    }

    func additional(for set: RRSet) -> [RRSet] {
        var result: [RRSet] = []
        for rdata in set.rdata {
            let target: DomainName
            switch rdata {
            case .srv(_, _, _, let name), .mx(_, let name), .ns(let name): target = name
            default: continue
            }
            for found in addresses[target.lookupKey] ?? [] where !result.contains(found) {
                result.append(found)
            }
        }
        return result
    }
}
