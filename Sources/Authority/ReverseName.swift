import DNSMessage
import ServiceModel

/// Reverse-mapping names (RFC 1035 §3.5, RFC 3596 §2.5).
enum ReverseName {
    static let ipv4Zone = DomainName("in-addr.arpa.")!
    static let ipv6Zone = DomainName("ip6.arpa.")!

    /// `d.c.b.a.in-addr.arpa.` for IPv4; 32 nibbles, least significant first, under `ip6.arpa.` for IPv6.
    /// Written as wire bytes directly: a full build makes one per endpoint address.
    static func of(_ address: IPAddress) -> DomainName {
        var wire: [UInt8] = []
        switch address {
        case .v4(let value):
            wire.reserveCapacity(30)
            for shift in stride(from: 0, through: 24, by: 8) {
                let byte = UInt8(truncatingIfNeeded: value >> UInt32(shift))
                wire.append(byte >= 100 ? 3 : byte >= 10 ? 2 : 1)
                if byte >= 100 { wire.append(UInt8(ascii: "0") + byte / 100) }
                if byte >= 10 { wire.append(UInt8(ascii: "0") + byte / 10 % 10) }
                wire.append(UInt8(ascii: "0") + byte % 10)
            }
            wire += ipv4Zone.wire
        case .v6(let high, let low):
            wire.reserveCapacity(74)
            for word in [low, high] {
                for shift in stride(from: 0, to: 64, by: 4) {
                    let nibble = UInt8(truncatingIfNeeded: word >> UInt64(shift)) & 0x0F
                    wire += [1, nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10]
                }
            }
            wire += ipv6Zone.wire
        }
        return DomainName(uncheckedWire: wire)
    }

    /// RFC 6761 §6.3: 127.0.0.0/8 and ::1 are the host's own; their reverse names answer `localhost.`, never
    /// an upstream.
    static func isLoopback(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let value): value >> 24 == 127
        case .v6(let high, let low): high == 0 && low == 1
        }
    }

    static let localhost = DomainName("localhost.")!

    /// The address a full reverse name stands for (4 labels under in-addr.arpa, 32 nibbles under
    /// ip6.arpa), from its lowercased wire form; nil for anything shorter or malformed.
    static func address(of key: [UInt8]) -> IPAddress? {
        var labels: [String] = []
        var index = 0
        while index < key.count, key[index] != 0, labels.count <= 34 {
            let length = Int(key[index])
            guard index + 1 + length <= key.count else { return nil }
            labels.append(String(decoding: key[(index + 1)..<(index + 1 + length)], as: UTF8.self))
            index += length + 1
        }
        if labels.count == 6, labels[4] == "in-addr", labels[5] == "arpa" {
            return IPAddress(labels[0..<4].reversed().joined(separator: "."))
        }
        if labels.count == 34, labels[32] == "ip6", labels[33] == "arpa", labels[0..<32].allSatisfy({ $0.count == 1 }) {
            let nibbles = labels[0..<32].reversed().joined()
            let groups = stride(from: 0, to: 32, by: 4).map { offset -> Substring in
                let start = nibbles.index(nibbles.startIndex, offsetBy: offset)
                return nibbles[start..<nibbles.index(start, offsetBy: 4)]
            }
            return IPAddress(groups.joined(separator: ":"))
        }
        return nil
    }
}
