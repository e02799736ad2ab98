// ShardedDictionary: a dictionary whose copies share most of their storage.

/// A dictionary split into 64 dictionaries by key hash, so that changing one key of a copy copies one
/// shard rather than everything.
///
/// The registry hands each change on as a new `Catalog` while it keeps its own to change next; with
/// plain dictionaries, the first write after every hand-off copied all 100,000 Services. Reads cost one
/// more hash than a plain dictionary's.
public struct ShardedDictionary<Key: Hashable, Value> {
    private static var shardCount: Int { 64 }
    private var shards: [[Key: Value]]
    public private(set) var count = 0

    public init() {
        shards = Array(repeating: [:], count: Self.shardCount)
    }

    public init(_ dictionary: [Key: Value]) {
        self.init()
        for (key, value) in dictionary { self[key] = value }
    }

    private static func shard(of key: Key) -> Int {
        Int(UInt(bitPattern: key.hashValue) % UInt(shardCount))
    }

    public subscript(key: Key) -> Value? {
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

    public subscript(key: Key, default defaultValue: @autoclosure () -> Value) -> Value {
        get { self[key] ?? defaultValue() }
        set { self[key] = newValue }
    }

    public var isEmpty: Bool { count == 0 }

    /// The keys, in no particular order.
    public var keys: [Key] { shards.flatMap(\.keys) }

    /// The values, in no particular order.
    public var values: [Value] { shards.flatMap(\.values) }
}

extension ShardedDictionary: Sequence {
    public func makeIterator() -> FlattenSequence<[[Key: Value]]>.Iterator {
        shards.joined().makeIterator()
    }
}

extension ShardedDictionary: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (Key, Value)...) {
        self.init()
        for (key, value) in elements { self[key] = value }
    }
}

extension ShardedDictionary: Equatable where Value: Equatable {}
extension ShardedDictionary: Hashable where Value: Hashable {}
extension ShardedDictionary: Sendable where Key: Sendable, Value: Sendable {}

extension ShardedDictionary: CustomStringConvertible {
    public var description: String {
        "[" + map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "]"
    }
}
