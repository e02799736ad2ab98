// Hand-built DNS messages for the malformed-input rows: bytes no well-behaved library would write.

/// Builders of raw message pieces, written from RFC 1035 §4.1 without svcdns's encoder.
public enum RawMessage {
    /// Flags of a plain query with RD set.
    public static let queryFlags: UInt16 = 0x0100

    public static func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    public static func u32(_ value: UInt32) -> [UInt8] { u16(UInt16(value >> 16)) + u16(UInt16(value & 0xFFFF)) }

    public static func header(
        id: UInt16, flags: UInt16 = queryFlags, qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0
    ) -> [UInt8] {
        u16(id) + u16(flags) + u16(qd) + u16(an) + u16(ns) + u16(ar)
    }

    /// Uncompressed wire form of a dotted name ("" is the root).
    public static func name(_ text: String) -> [UInt8] {
        text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    public static func question(_ text: String = "web.default.svc.cluster.local", type: UInt16 = 1, class qclass: UInt16 = 1)
        -> [UInt8]
    {
        name(text) + u16(type) + u16(qclass)
    }

    /// An OPT pseudo-record (RFC 6891 §6.1.2).
    public static func opt(owner: [UInt8] = [0], udpSize: UInt16 = 1232, ttl: UInt32 = 0, rdata: [UInt8] = []) -> [UInt8] {
        owner + u16(41) + u16(udpSize) + u32(ttl) + u16(UInt16(rdata.count)) + rdata
    }

    /// `message` with its opcode replaced (the header's bits 11–14).
    public static func withOpcode(_ opcode: UInt16, _ message: [UInt8]) -> [UInt8] {
        var copy = message
        copy[2] = (copy[2] & 0x87) | UInt8(opcode << 3)
        return copy
    }

    /// A plain, well-formed A query.
    public static func goodQuery(id: UInt16) -> [UInt8] {
        header(id: id) + question()
    }
}

/// A deterministic generator (SplitMix64), so a failing random corpus can be replayed from its seed.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
