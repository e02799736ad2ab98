#if canImport(Glibc)
import Glibc
#endif

/// The names of one zone, found by their lowercased wire form: the names' bytes in one buffer (the record store's,
/// shared rather than copied) behind one open-addressing table, built once and never changed. A million names are
/// two arrays and a share of a buffer, not a million keys of their own in a dictionary (NSD's and Knot's zone
/// trees are the reference; a hash table is what a query path that only ever asks "is this exact name here"
/// needs).
///
/// A slot is 32 bits: the name's number + 1 in the low bits (as many as the count needs; 0: empty) and the top
/// bits of its hash in the rest, so a probe compares the bytes only of a name whose hash matches (at 1.3 million
/// names, 21 bits of number leave 11 of hash: one needless comparison in 2,048). Names are hashed and compared
/// without regard to ASCII case, so the buffer may keep the case they were written in.
struct NameIndex: Sendable {
    /// Names in wire form; name `i` starts at `starts[i]` and ends at its zero byte.
    private let bytes: [UInt8]
    private let starts: [UInt32]
    private let slots: [UInt32]
    /// How many low bits of a slot hold the number.
    private let numberBits: UInt32
    /// False when `bytes` is another's buffer (counted by its owner).
    private let ownsBytes: Bool

    /// Indexes `names`, which must be distinct wire forms; name `i` gets number `i`.
    init(_ names: [[UInt8]]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(names.reduce(0) { $0 + $1.count })
        var starts: [UInt32] = []
        starts.reserveCapacity(names.count)
        for name in names {
            starts.append(UInt32(bytes.count))
            bytes += name
        }
        self.init(bytes: bytes, starts: starts, ownsBytes: true)
    }

    /// Indexes the names that start in `bytes` at `starts` (name `i` gets number `i`); they must be distinct.
    /// `reserve` leaves room for that many names more (`adding`) without building again.
    init(bytes: [UInt8], starts: [UInt32], ownsBytes: Bool = false, reserve: Int = 0) {
        // At most three quarters full, so that a miss ends within a few slots.
        var capacity = 8
        while capacity * 3 < (starts.count + reserve) * 4 { capacity <<= 1 }
        let numberBits = Self.numberBits(for: starts.count + reserve)
        var slots = [UInt32](repeating: 0, count: capacity)
        Self.insert(starts.indices, starts: starts, bytes: bytes, numberBits: numberBits, into: &slots)
        self.bytes = bytes
        self.starts = starts
        self.slots = slots
        self.numberBits = numberBits
        self.ownsBytes = ownsBytes
    }

    private init(bytes: [UInt8], starts: [UInt32], slots: [UInt32], numberBits: UInt32, ownsBytes: Bool) {
        self.bytes = bytes
        self.starts = starts
        self.slots = slots
        self.numberBits = numberBits
        self.ownsBytes = ownsBytes
    }

    /// This index without its names' buffer, to be given one again by `adding` (lookups need the buffer).
    func detached() -> NameIndex {
        NameIndex(bytes: [], starts: starts, slots: slots, numberBits: numberBits, ownsBytes: ownsBytes)
    }

    /// This index with the names at `more` added after its own, over `bytes` (which holds its names where they
    /// were, and the new ones). Built again only when the room reserved is not enough.
    func adding(_ more: [UInt32], in bytes: [UInt8]) -> NameIndex {
        let starts = self.starts + more
        guard slots.count * 3 >= starts.count * 4, (1 << numberBits) > starts.count else {
            return NameIndex(bytes: bytes, starts: starts, ownsBytes: ownsBytes)
        }
        var slots = self.slots
        Self.insert(self.starts.count..<starts.count, starts: starts, bytes: bytes, numberBits: numberBits, into: &slots)
        return NameIndex(bytes: bytes, starts: starts, slots: slots, numberBits: numberBits, ownsBytes: ownsBytes)
    }

    /// Puts names `numbers` (starting in `bytes` at `starts[number]`) into `slots`.
    private static func insert(
        _ numbers: Range<Int>, starts: [UInt32], bytes: [UInt8], numberBits: UInt32, into slots: inout [UInt32]
    ) {
        let mask = slots.count - 1
        var lowercased: [UInt8] = []
        bytes.withUnsafeBufferPointer { bytes in
            for number in numbers {
                let name = Self.name(at: Int(starts[number]), in: bytes)
                let hash: UInt64
                if name.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) {
                    lowercased.removeAll(keepingCapacity: true)
                    lowercased.append(contentsOf: name.lazy.map(Self.lowercase))
                    hash = lowercased.withUnsafeBytes(NameKey.mix)
                } else {
                    hash = NameKey.mix(UnsafeRawBufferPointer(name))
                }
                var slot = Int(truncatingIfNeeded: hash) & mask
                while slots[slot] != 0 {
                    slot = (slot + 1) & mask
                }
                slots[slot] = Self.tag(hash, numberBits: numberBits) | UInt32(number + 1)
            }
        }
    }

    /// Bits enough for every number + 1 (at least 1; at most 31, which a name count never nears).
    private static func numberBits(for count: Int) -> UInt32 {
        var bits: UInt32 = 1
        while bits < 31 && (1 << bits) <= count { bits += 1 }
        return bits
    }

    /// The hash's top bits, placed above the number's.
    private static func tag(_ hash: UInt64, numberBits: UInt32) -> UInt32 {
        UInt32(truncatingIfNeeded: hash >> 32) & ~((1 << numberBits) - 1)
    }

    /// How many names it holds.
    var count: Int { starts.count }

    /// The bytes its own arrays take (for the memory figures); a shared buffer is its owner's to count.
    var byteCount: Int { (ownsBytes ? bytes.count : 0) + starts.count * 4 + slots.count * 4 }

    /// The number of the name whose lowercased wire form is `key`, or nil when it holds no such name.
    func number(of key: UnsafeRawBufferPointer) -> Int? {
        number(of: key, hash: NameKey.mix(key))
    }

    /// The number of `key`'s name, its hash computed once with the key's.
    func number(of key: NameKey) -> Int? {
        key.bytes.withUnsafeBytes { number(of: $0, hash: key.hash) }
    }

    /// The number of the name whose lowercased wire form is `key`, whose `NameKey.mix` hash is `hash`.
    func number(of key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        guard let keyStart = key.baseAddress, !key.isEmpty else { return nil }
        let tag = Self.tag(hash, numberBits: numberBits)
        let numberMask: UInt32 = (1 << numberBits) - 1
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        return bytes.withUnsafeBytes { bytes -> Int? in
            while true {
                let entry = slots[slot]
                if entry == 0 { return nil }
                if entry & ~numberMask == tag {
                    let number = Int(entry & numberMask) - 1
                    let start = Int(starts[number])
                    // The key is one whole name, so equal bytes up to its length are the same name: a shorter
                    // stored name differs at its zero byte.
                    if start + key.count <= bytes.count {
                        let stored = bytes.baseAddress! + start
                        if memcmp(stored, keyStart, key.count) == 0 || Self.equalFolding(stored, keyStart, key.count) {
                            return number
                        }
                    }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func number(of key: [UInt8]) -> Int? {
        key.withUnsafeBytes { number(of: $0) }
    }

    /// Calls `body` with the bytes of name `number`, as written.
    func withName<Result>(_ number: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        bytes.withUnsafeBufferPointer { body(Self.name(at: Int(starts[number]), in: $0)) }
    }

    /// The bytes of name `number`, as written.
    func name(_ number: Int) -> [UInt8] {
        bytes.withUnsafeBufferPointer { Array(Self.name(at: Int(starts[number]), in: $0)) }
    }

    /// The wire-form name that starts at `start`, its zero byte included.
    private static func name(at start: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var end = start
        while bytes[end] != 0 {
            end += Int(bytes[end]) + 1
        }
        return UnsafeBufferPointer(rebasing: bytes[start...end])
    }

    /// True when `stored`, lowercased, is `key` (already lowercased). Length bytes (at most 63) never change.
    private static func equalFolding(_ stored: UnsafeRawPointer, _ key: UnsafeRawPointer, _ count: Int) -> Bool {
        for offset in 0..<count where lowercase(stored.load(fromByteOffset: offset, as: UInt8.self))
            != key.load(fromByteOffset: offset, as: UInt8.self)
        {
            return false
        }
        return true
    }

    static func lowercase(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
