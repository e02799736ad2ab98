#if canImport(Glibc)
import Glibc
#endif

/// The names of one zone by their lowercased wire form: every name's bytes in one buffer behind one
/// open-addressing table, built once and never changed. A million names are three arrays, not a million keys
/// of their own in a dictionary (NSD's and Knot's zone trees are the reference; a hash table is what a query
/// path that only ever asks "is this exact name here" needs).
///
/// A slot holds the name's hash in its high 32 bits and its number + 1 in the low 32 (0: empty), so a probe
/// compares the bytes only of a name whose hash matches.
struct NameIndex: Sendable {
    private let bytes: [UInt8]
    /// Name `i` is `bytes[ends[i - 1] ..< ends[i]]` (from 0 for the first).
    private let ends: [UInt32]
    private let slots: [UInt64]

    /// Indexes `names`, which must be distinct; name `i` gets number `i`.
    init(_ names: [[UInt8]]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(names.reduce(0) { $0 + $1.count })
        var ends: [UInt32] = []
        ends.reserveCapacity(names.count)
        for name in names {
            bytes += name
            ends.append(UInt32(bytes.count))
        }
        self.init(bytes: bytes, ends: ends)
    }

    /// Indexes the names laid end to end in `bytes`, name `i` ending at `ends[i]`; they must be distinct.
    init(bytes: [UInt8], ends: [UInt32]) {
        // At most three quarters full, so that a miss ends within a few slots.
        var capacity = 8
        while capacity * 3 < ends.count * 4 { capacity <<= 1 }
        var slots = [UInt64](repeating: 0, count: capacity)
        let mask = capacity - 1
        bytes.withUnsafeBytes { bytes in
            var start = 0
            for (number, end) in ends.enumerated() {
                let hash = NameKey.mix(UnsafeRawBufferPointer(rebasing: bytes[start..<Int(end)]))
                start = Int(end)
                var slot = Int(truncatingIfNeeded: hash) & mask
                while slots[slot] != 0 {
                    slot = (slot + 1) & mask
                }
                slots[slot] = (hash >> 32) << 32 | UInt64(number + 1)
            }
        }
        self.bytes = bytes
        self.ends = ends
        self.slots = slots
    }

    /// How many names it holds.
    var count: Int { ends.count }

    /// The bytes its buffers take (for the memory figures).
    var byteCount: Int { bytes.count + ends.count * 4 + slots.count * 8 }

    /// The number of the name whose lowercased wire form is `key`, or nil when it holds no such name.
    func number(of key: UnsafeRawBufferPointer) -> Int? {
        number(of: key, hash: NameKey.mix(key))
    }

    /// The number of `key`'s name, its hash computed once with the key's.
    func number(of key: NameKey) -> Int? {
        key.bytes.withUnsafeBytes { number(of: $0, hash: key.hash) }
    }

    private func number(of key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        guard let keyStart = key.baseAddress, !key.isEmpty else { return nil }
        let tag = (hash >> 32) << 32
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        return bytes.withUnsafeBytes { bytes -> Int? in
            while true {
                let entry = slots[slot]
                if entry == 0 { return nil }
                if entry & 0xFFFF_FFFF_0000_0000 == tag {
                    let number = Int(entry & 0xFFFF_FFFF) - 1
                    let start = number == 0 ? 0 : Int(ends[number - 1])
                    let end = Int(ends[number])
                    if end - start == key.count && memcmp(bytes.baseAddress! + start, keyStart, key.count) == 0 {
                        return number
                    }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func number(of key: [UInt8]) -> Int? {
        key.withUnsafeBytes { number(of: $0) }
    }

    /// The bytes of name `number`.
    func name(_ number: Int) -> ArraySlice<UInt8> {
        bytes[(number == 0 ? 0 : Int(ends[number - 1]))..<Int(ends[number])]
    }
}
