import DNSMessage

/// One zone's names and RRsets packed into a few arrays (by `ZonePacker`): the names in a `NameIndex`, the RRsets
/// in the build's `RecordStore`, and per name only where its RRsets start, how many it has and how many names
/// are one label below it. No name, RRset or record is a heap object of its own.
///
/// The form a zone is answered from after a full build (`ZoneNodes` keeps the names changed since beside it).
final class PackedZone: Sendable {
    struct Node: Sendable, Equatable {
        /// The index of the name's first RRset in the store.
        var firstSet: UInt32
        /// How many names exist one label below this one (RFC 8020: a name with descendants exists).
        var children: UInt32
        var setCount: UInt16
        /// True when the name exists only because names below it do (an empty non-terminal no one added).
        var isDerived: Bool = false

        init(firstSet: UInt32, setCount: UInt16, children: UInt32, isDerived: Bool = false) {
            self.firstSet = firstSet
            self.children = children
            self.setCount = setCount
            self.isDerived = isDerived
        }
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
    /// True when some name is a wildcard (`*.…`).
    let hasWildcards: Bool
    /// The names with NS records (the apex's among them).
    let nameServerOwners: [NameKey]

    /// A zone `ZonePacker` packed: its RRsets are `records[firstSet ..< firstSet + additionalEnds.count]`.
    init(
        names: NameIndex, nodes: [Node], records: RecordStore, firstSet: Int, additionalEnds: [UInt32],
        additional: [UInt32], rotation: [UInt32: RotationCounter], hasWildcards: Bool, nameServerOwners: [NameKey]
    ) {
        self.names = names
        self.nodes = nodes
        self.records = records
        self.firstSet = firstSet
        self.additionalEnds = additionalEnds
        self.additional = additional
        self.rotation = rotation
        self.hasWildcards = hasWildcards
        self.nameServerOwners = nameServerOwners
    }

    /// The node of the name whose lowercased wire form is `key`, or nil.
    func node(_ key: NameKey) -> Node? {
        names.number(of: key).map { nodes[$0] }
    }

    func node(_ key: [UInt8]) -> Node? {
        node(NameKey(key))
    }

    /// The RRsets of `node`, read from the store.
    func sets(of node: Node) -> [RRSet] {
        (0..<Int(node.setCount)).map { records[Int(node.firstSet) + $0] }
    }

    /// The RRset at store index `set`, with its additionals and rotation counter, all read in place.
    func entry(_ set: Int) -> NodeEntry {
        NodeEntry(rrSet: records[set], additional: AdditionalSets(packed: self, links: links(of: set)),
                  rotation: records.recordCount(of: set) > 1 ? rotation[UInt32(set)] : nil)
    }

    /// The RRset of `type` at `node`, if it has one.
    func entry(of type: RecordType, at node: Node) -> NodeEntry? {
        let first = Int(node.firstSet)
        for set in first..<(first + Int(node.setCount)) where records.type(of: set) == type {
            return entry(set)
        }
        return nil
    }

    /// `node` as a value whose RRsets still refer to the store.
    func value(of node: Node) -> Authority.Node {
        let first = Int(node.firstSet)
        return Authority.Node(
            entries: (first..<(first + Int(node.setCount))).map(entry), children: Int32(node.children),
            isDerived: node.isDerived)
    }

    /// Where the additional RRsets of the RRset at store index `set` are in `additional`.
    private func links(of set: Int) -> Range<Int> {
        let local = set - firstSet
        let start = local == 0 ? 0 : Int(additionalEnds[local - 1])
        return start..<Int(additionalEnds[local])
    }

    /// The additional RRsets of the RRset at store index `set`.
    func additional(of set: Int) -> [RRSet] {
        links(of: set).map(linkedSet)
    }

    /// The RRset that link number `link` names.
    func linkedSet(_ link: Int) -> RRSet {
        records[Int(additional[link])]
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
