#if canImport(Glibc)
import Glibc
#endif

/// Where the encoder writes a message: a growable byte array (TCP, tests, forwarded answers), or the
/// fixed memory of a datagram (the UDP workers), so an answer is written where it is sent from.
///
/// The encoder is generic over the sink and specialised for both within this module, so neither
/// pays for the other. Fixed memory may run out: a write that does not fit sets `overflowed` and is
/// dropped, and the encoder treats the RRset it was writing as one that does not fit.
protocol MessageSink {
    var count: Int { get }
    /// The most bytes the sink can take (`Int.max` when it grows).
    var capacity: Int { get }
    /// True once a write did not fit; cleared by `truncate`.
    var overflowed: Bool { get }
    /// True when `byteCount` more bytes fit.
    func fits(_ byteCount: Int) -> Bool
    mutating func append(_ byte: UInt8)
    mutating func append16(_ value: UInt16)
    mutating func append32(_ value: UInt32)
    mutating func append(_ bytes: UnsafeRawBufferPointer)
    mutating func patch16(_ value: UInt16, at offset: Int)
    /// The byte at `offset`, which must be below `count`.
    func byte(at offset: Int) -> UInt8
    /// True when the bytes from `offset` on are exactly `bytes` (and all written).
    func matches(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool
    /// Drops everything from `count` on.
    mutating func truncate(to count: Int)
}

extension MessageSink {
    @inline(__always)
    mutating func append64(_ value: UInt64) {
        append32(UInt32(truncatingIfNeeded: value >> 32))
        append32(UInt32(truncatingIfNeeded: value))
    }
}

/// A sink over the caller's `[UInt8]`, borrowed for one message (the array is never copied).
struct ArraySink: MessageSink {
    private let bytes: UnsafeMutablePointer<[UInt8]>

    init(_ bytes: UnsafeMutablePointer<[UInt8]>) {
        self.bytes = bytes
    }

    var count: Int { bytes.pointee.count }
    var capacity: Int { .max }
    var overflowed: Bool { false }
    func fits(_ byteCount: Int) -> Bool { true }

    @inline(__always)
    mutating func append(_ byte: UInt8) { bytes.pointee.append(byte) }

    @inline(__always)
    mutating func append16(_ value: UInt16) {
        bytes.pointee.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.pointee.append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always)
    mutating func append32(_ value: UInt32) {
        append16(UInt16(truncatingIfNeeded: value >> 16))
        append16(UInt16(truncatingIfNeeded: value))
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) { self.bytes.pointee.append(contentsOf: bytes) }

    mutating func patch16(_ value: UInt16, at offset: Int) {
        bytes.pointee[offset] = UInt8(truncatingIfNeeded: value >> 8)
        bytes.pointee[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    func byte(at offset: Int) -> UInt8 { bytes.pointee[offset] }

    func matches(_ other: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
        guard offset + other.count <= count else { return false }
        return bytes.pointee[offset..<(offset + other.count)].elementsEqual(other)
    }

    mutating func truncate(to count: Int) { bytes.pointee.removeSubrange(count...) }
}

/// A sink over fixed memory: no allocation, no copy-on-write checks, one bounds check per write.
struct RawSink: MessageSink {
    private let base: UnsafeMutableRawPointer
    let capacity: Int
    private(set) var count = 0
    private(set) var overflowed = false

    init(_ memory: UnsafeMutableRawBufferPointer) {
        base = memory.baseAddress!
        capacity = memory.count
    }

    @inline(__always)
    func fits(_ byteCount: Int) -> Bool { capacity - count >= byteCount }

    @inline(__always)
    private mutating func reserve(_ byteCount: Int) -> Bool {
        guard !overflowed, fits(byteCount) else {
            overflowed = true
            return false
        }
        return true
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        guard reserve(1) else { return }
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    mutating func append16(_ value: UInt16) {
        guard reserve(2) else { return }
        base.storeBytes(of: value.bigEndian, toByteOffset: count, as: UInt16.self)
        count += 2
    }

    @inline(__always)
    mutating func append32(_ value: UInt32) {
        guard reserve(4) else { return }
        base.storeBytes(of: value.bigEndian, toByteOffset: count, as: UInt32.self)
        count += 4
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard reserve(bytes.count), let source = bytes.baseAddress else { return }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    mutating func patch16(_ value: UInt16, at offset: Int) {
        // A field whose own write overflowed is not there to patch.
        guard offset >= 0, offset + 2 <= count else { return }
        base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inline(__always)
    func byte(at offset: Int) -> UInt8 { base.load(fromByteOffset: offset, as: UInt8.self) }

    func matches(_ other: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
        guard offset + other.count <= count, let start = other.baseAddress else { return other.isEmpty }
        return memcmp(base + offset, start, other.count) == 0
    }

    mutating func truncate(to count: Int) {
        self.count = min(self.count, count)
        overflowed = false
    }
}
