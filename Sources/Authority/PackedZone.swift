import DNSMessage

/// One zone's names and RRsets packed into a few arrays, built in one pass from its `NodeTable`: the names in a
/// `NameIndex`, the RRsets in the build's `RecordStore`, and per name only where its RRsets start, how many it
/// has and how many names are one label below it. No name, RRset or record is a heap object of its own.
///
/// The form a zone is answered from once the packed snapshot replaces `NodeMap` (a map of the names changed
/// since, looked at first, keeps incremental updates cheap).
final class PackedZone: Sendable {
    struct Node: Sendable, Equatable {
        /// The index of the name's first RRset in the store.
        var firstSet: UInt32
        var setCount: UInt16
        /// How many names exist one label below this one (RFC 8020: a name with descendants exists).
        var children: UInt32
    }

    let names: NameIndex
    /// By name number (`names`).
    let nodes: [Node]
    let records: RecordStore
    /// The store index of this zone's first RRset: its RRsets are contiguous in the store.
    private let firstSet: Int
    /// Per RRset of this zone (store index - `firstSet`), where its additional RRsets' store indices end in
    /// `additional`; they start where the previous RRset's end.
    private let additionalEnds: [UInt32]
    private let additional: [UInt32]
    /// A counter for each RRset of more than one record, by store index: the few sets that rotate.
    private let rotation: [UInt32: RotationCounter]

    /// Packs table number `table` of a build, whose RRsets `stored` holds; `addresses` links the additionals.
    init(table: NodeTable, number: Int, stored: StoredSets, addresses: AddressIndex) {
        let originLength = table.origin.wire.count
        let owners = table.owners
        var keys = owners.map(\.key)
        var nodes = owners.indices.map { owner in
            Node(firstSet: UInt32(stored.firstSets[number][owner]), setCount: UInt16(owners[owner].sets.count), children: 0)
        }
        // Every ancestor up to the origin exists: those no one added are empty non-terminals.
        var numbers = [NameKey: Int](minimumCapacity: keys.count)
        for (number, key) in keys.enumerated() {
            numbers[NameKey(key)] = number
        }
        var name = 0
        while name < keys.count {
            let key = keys[name]
            name += 1
            guard key.count > originLength, let parent = NodeMap.parent(of: NameKey(key)) else { continue }
            if let known = numbers[parent] {
                nodes[known].children += 1
            } else {
                numbers[parent] = keys.count
                keys.append(parent.bytes)
                nodes.append(Node(firstSet: 0, setCount: 0, children: 1))
            }
        }
        numbers = [:]
        self.names = NameIndex(keys)
        self.nodes = nodes
        self.records = stored.store

        let first = owners.isEmpty ? 0 : Int(stored.firstSets[number][0])
        var ends: [UInt32] = []
        var linked: [UInt32] = []
        var rotation: [UInt32: RotationCounter] = [:]
        for (owner, entry) in owners.enumerated() {
            for (setIndex, set) in entry.sets.enumerated() {
                for position in addresses.additionalPositions(for: set) {
                    linked.append(UInt32(Int(stored.firstSets[position.table][position.owner]) + position.set))
                }
                ends.append(UInt32(linked.count))
                if set.recordCount > 1 {
                    rotation[UInt32(Int(stored.firstSets[number][owner]) + setIndex)] = RotationCounter(0)
                }
            }
        }
        self.firstSet = first
        self.additionalEnds = ends
        self.additional = linked
        self.rotation = rotation
    }

    /// The node of the name whose lowercased wire form is `key`, or nil.
    func node(_ key: [UInt8]) -> Node? {
        names.number(of: key).map { nodes[$0] }
    }

    /// The RRsets of `node`, read from the store.
    func sets(of node: Node) -> [RRSet] {
        (0..<Int(node.setCount)).map { records[Int(node.firstSet) + $0] }
    }

    /// The additional RRsets of the RRset at store index `set`.
    func additional(of set: Int) -> [RRSet] {
        let local = set - firstSet
        let start = local == 0 ? 0 : Int(additionalEnds[local - 1])
        return additional[start..<Int(additionalEnds[local])].map { records[Int($0)] }
    }

    /// The rotation counter of the RRset at store index `set`; nil when it has one record.
    func rotationCounter(of set: Int) -> RotationCounter? {
        rotation[UInt32(set)]
    }

    /// The bytes its own arrays take (the store is the build's, counted once by its owner).
    var byteCount: Int {
        names.byteCount + nodes.count * MemoryLayout<Node>.stride + additionalEnds.count * 4 + additional.count * 4
    }
}
