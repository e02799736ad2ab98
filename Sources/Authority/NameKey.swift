/// A lowercased wire-form name as a dictionary key, hashed once when it is made.
///
/// `[UInt8]`'s own `Hashable` feeds the hasher one byte at a time; name lookups are the query path's
/// largest cost after I/O. The hash is computed once over the bytes, so the shard a name lives in
/// (`ShardedNameMap`) and its slot inside the shard come from one pass.
struct NameKey: Hashable, Sendable {
    let bytes: [UInt8]
    /// A multiply-xor mix over 8 bytes at a time: cheap, and good enough to spread names the registry
    /// chose (queries only read the maps, so nobody outside can pick keys that collide).
    let hash: UInt64

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.hash = bytes.withUnsafeBytes(Self.mix)
    }

    static func mix(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(raw.count)
        var offset = 0
        while offset + 8 <= raw.count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 29
            offset += 8
        }
        var tail: UInt64 = 0
        while offset < raw.count {
            tail = tail << 8 | UInt64(raw[offset])
            offset += 1
        }
        hash = (hash ^ tail) &* 0x94D0_49BB_1331_11EB
        return hash ^ (hash >> 31)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    static func == (lhs: NameKey, rhs: NameKey) -> Bool {
        lhs.hash == rhs.hash && lhs.bytes == rhs.bytes
    }
}
