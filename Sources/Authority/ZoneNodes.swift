import DNSMessage

/// The names of one zone as a snapshot holds them: those of the last full build, packed (`PackedZone`), and
/// the names incremental updates changed since then, in a sharded map that is read first.
///
/// A change to one Service copies only the shards of the map it touches; the packed names are shared by every
/// snapshot until the next full build packs the map's changes in.
struct ZoneNodes: Sendable {
    /// What an incremental update did to a name.
    private enum Change: Sendable {
        case set(Node)
        case removed
    }

    private let packed: PackedZone
    private var changes = ShardedNameMap<Change>()
    /// How many names exist.
    private(set) var count: Int
    /// The length of the zone origin's wire form: ancestors are made and counted down to it, not above.
    private let originLength: Int

    init(packed: PackedZone, originLength: Int) {
        self.packed = packed
        self.count = packed.names.count
        self.originLength = originLength
    }

    /// The bytes of the packed zone's own arrays, and of the build's record store (shared by its zones).
    var packedByteCount: Int { packed.byteCount }
    var storeByteCount: Int { packed.records.byteCount }

    /// How many names were changed since the zone was packed.
    var changeCount: Int { changes.count }

    /// True when some name is a wildcard (`*.…`).
    var hasWildcards: Bool {
        var found = packed.hasWildcards
        changes.forEach { key, change in
            if case .set = change, key.bytes.starts(with: [1, UInt8(ascii: "*")]) { found = true }
        }
        return found
    }

    /// The names with NS records (the apex's among them).
    var delegations: Set<NameKey> {
        var names = Set(packed.nameServerOwners.filter { changes[$0] == nil })
        changes.forEach { key, change in
            if case .set(let node) = change, node.entry(of: .ns) != nil { names.insert(key) }
        }
        return names
    }

    /// The node of `key` where it lies, without copying it out: the query path's lookup.
    func find(_ key: NameKey) -> FoundNode? {
        switch changes[key] {
        case .set(let node): return .value(node)
        case .removed: return nil
        case nil: return packed.node(key).map { .packed(packed, $0) }
        }
    }

    /// The node of `key` as a value (the RRsets of a packed one still refer to the store), or nil; setting it
    /// records the change.
    subscript(key: NameKey) -> Node? {
        get { find(key)?.node }
        set {
            let existed = self[key] != nil
            if let newValue {
                changes[key] = .set(newValue)
            } else if packed.node(key) != nil {
                changes[key] = .removed
            } else {
                changes[key] = nil
            }
            count += (newValue != nil ? 1 : 0) - (existed ? 1 : 0)
        }
    }

    /// Changes the node at `key`; false when there is none.
    @discardableResult
    mutating func modify(_ key: NameKey, _ change: (inout Node) -> Void) -> Bool {
        guard var node = self[key] else { return false }
        change(&node)
        changes[key] = .set(node)
        return true
    }
}

extension ZoneNodes {
    /// True when both hold the same packed names: only the names either changed since can differ.
    func sharesPacking(with other: ZoneNodes) -> Bool { packed === other.packed }

    /// The names changed since packing, set or removed.
    var changedKeys: [NameKey] {
        var keys: [NameKey] = []
        keys.reserveCapacity(changes.count)
        changes.forEach { key, _ in keys.append(key) }
        return keys
    }

    /// How many names were packed; `packedOwner` reads them by number.
    var packedCount: Int { packed.names.count }

    /// The key and RRsets of packed name `number`; nil when a change since packing replaced or removed it (a
    /// replaced one is among `changedKeys`).
    func packedOwner(_ number: Int) -> (key: NameKey, sets: [RRSet])? {
        let key = NameKey(packed.names.withName(number) { name in name.map(NameIndex.lowercase) })
        guard changes[key] == nil else { return nil }
        return (key, packed.sets(of: packed.nodes[number]))
    }
}

/// A name a query found, read where it lies: a value (changed since the last full build, or made for the query), or in the packed zone.
enum FoundNode {
    case value(Node)
    case packed(PackedZone, PackedZone.Node)

    /// The RRset of `type`, if the name has one.
    func entry(of type: RecordType) -> NodeEntry? {
        switch self {
        case .value(let node): node.entry(of: type)
        case .packed(let zone, let node): zone.entry(of: type, at: node)
        }
    }

    /// The name's first RRset (RFC 8482: the one an ANY query gets).
    var firstEntry: NodeEntry? {
        switch self {
        case .value(let node): node.entries.first
        case .packed(let zone, let node): node.setCount == 0 ? nil : zone.entry(Int(node.firstSet))
        }
    }

    /// The node as a value.
    var node: Node {
        switch self {
        case .value(let node): node
        case .packed(let zone, let node): zone.value(of: node)
        }
    }
}

// The edits an incremental build makes. Every node counts its children, so a name that exists only
// because of names below it (an empty non-terminal, RFC 8020) can leave when its last child does,
// without searching for other children.
extension ZoneNodes {
    /// Makes `key` an owner with `entries`. A new name attaches to its parent, creating missing
    /// ancestors as empty non-terminals below the origin.
    mutating func setOwner(_ key: NameKey, entries: [NodeEntry]) {
        let existed = modify(key) { node in
            node.entries = entries
            node.isDerived = false
        }
        guard !existed else { return }
        self[key] = Node(entries: entries)
        attach(key)
    }

    /// Removes the owner at `key`. While it has children it stays, as an empty non-terminal; ancestors
    /// that existed only for it go with it.
    mutating func removeOwner(_ key: NameKey) {
        guard let node = self[key], !node.isDerived else { return }
        if node.children > 0 {
            modify(key) { node in
                node.entries = []
                node.isDerived = true
            }
            return
        }
        self[key] = nil
        detach(key)
    }

    /// Counts `key` as a child of its parent, creating the parent (and so on up) when missing.
    private mutating func attach(_ key: NameKey) {
        var child = key
        while child.bytes.count > originLength, let parent = Self.parent(of: child) {
            if modify(parent, { $0.children += 1 }) { return }
            self[parent] = Node(entries: [], children: 1, isDerived: true)
            child = parent
        }
    }

    /// Uncounts `key` from its parent; removes parents that were only empty non-terminals for it.
    private mutating func detach(_ key: NameKey) {
        var child = key
        while child.bytes.count > originLength, let parent = Self.parent(of: child) {
            var orphaned = false
            let found = modify(parent) { node in
                node.children -= 1
                orphaned = node.children == 0 && node.isDerived
            }
            guard found, orphaned else { return }
            self[parent] = nil
            child = parent
        }
    }

    /// The name one label up, or nil for the root.
    static func parent(of key: NameKey) -> NameKey? {
        let bytes = key.bytes
        guard let first = bytes.first, first > 0 else { return nil }
        return NameKey(Array(bytes[(Int(first) + 1)...]))
    }
}
