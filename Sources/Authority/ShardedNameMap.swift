/// A map from names to values, split into shards so that a copy that changes a few names copies only the shards
/// it touches.
///
/// A snapshot is immutable; the next one is the previous one with a few names changed. Copying one dictionary of
/// a hundred thousand names per change would take milliseconds, so the map is 1,024 dictionaries picked by the
/// name's hash: a change copies the array of shards (1,024 references) and the shards of the names it changes,
/// and shares every other shard with the snapshot before it.
struct ShardedNameMap<Value: Sendable>: Sendable {
    private static var shardBits: UInt64 { 10 }
    private var shards: [[NameKey: Value]]
    private(set) var count = 0

    init() {
        shards = Array(repeating: [:], count: 1 << Self.shardBits)
    }

    private static func shard(of key: NameKey) -> Int {
        Int(truncatingIfNeeded: key.hash >> (64 - shardBits))
    }

    subscript(key: NameKey) -> Value? {
        get { count == 0 ? nil : shards[Self.shard(of: key)][key] }
        set {
            let shard = Self.shard(of: key)
            if let newValue {
                if shards[shard].updateValue(newValue, forKey: key) == nil { count += 1 }
            } else if shards[shard].removeValue(forKey: key) != nil {
                count -= 1
            }
        }
    }

    /// Every name with its value, in no particular order.
    func forEach(_ body: (NameKey, Value) -> Void) {
        guard count > 0 else { return }
        for shard in shards {
            for (key, value) in shard { body(key, value) }
        }
    }
}
