/// The names of one zone, split into shards so that a change copies only the shards it touches.
///
/// A snapshot is immutable; the next one is the previous one with a few names changed. Copying one
/// dictionary of a million names per change would take milliseconds, so the map is 1,024 dictionaries
/// picked by the name's hash: a change copies the array of shards (1,024 references) and the shards of
/// the names it changes, and shares every other shard with the snapshot before it.
struct NodeMap: Sendable {
    private static let shardBits: UInt64 = 10
    private var shards: [[NameKey: Node]]
    private(set) var count = 0
    /// The length of the zone origin's wire form: ancestors are made and counted down to it, not above.
    private let originLength: Int

    init(origin: [UInt8], expectedCount: Int = 0) {
        let shardCount = 1 << Self.shardBits
        let perShard = expectedCount / shardCount
        shards = (0..<shardCount).map { _ in perShard > 0 ? Dictionary(minimumCapacity: perShard + perShard / 8) : [:] }
        originLength = origin.count
    }

    private static func shard(of key: NameKey) -> Int {
        Int(truncatingIfNeeded: key.hash >> (64 - shardBits))
    }

    subscript(key: NameKey) -> Node? {
        get { shards[Self.shard(of: key)][key] }
        set {
            let shard = Self.shard(of: key)
            if let newValue {
                if shards[shard].updateValue(newValue, forKey: key) == nil { count += 1 }
            } else if shards[shard].removeValue(forKey: key) != nil {
                count -= 1
            }
        }
    }

    /// Changes the node at `key` in place; false when there is none.
    @discardableResult
    mutating func modify(_ key: NameKey, _ change: (inout Node) -> Void) -> Bool {
        let shard = Self.shard(of: key)
        guard let index = shards[shard].index(forKey: key) else { return false }
        change(&shards[shard].values[index])
        return true
    }

    /// Every name with its node, in no particular order.
    func forEach(_ body: (NameKey, Node) -> Void) {
        for shard in shards {
            for (key, node) in shard { body(key, node) }
        }
    }
}

// The edits an incremental build makes. Every node counts its children, so a name that exists only
// because of names below it (an empty non-terminal, RFC 8020) can leave when its last child does,
// without searching for other children.
extension NodeMap {
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
    mutating func attach(_ key: NameKey) {
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
