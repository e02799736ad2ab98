import DNSMessage
import ServiceModel

/// Reverse-mapping names (RFC 1035 §3.5, RFC 3596 §2.5).
enum ReverseName {
    static let ipv4Zone = DomainName("in-addr.arpa.")!
    static let ipv6Zone = DomainName("ip6.arpa.")!

    /// `d.c.b.a.in-addr.arpa.` for IPv4; 32 nibbles, least significant first, under `ip6.arpa.` for IPv6.
    static func of(_ address: IPAddress) -> DomainName {
        let bytes = address.bytes
        let labels: [String]
        switch address {
        case .v4:
            labels = bytes.reversed().map { String($0) } + ["in-addr", "arpa"]
        case .v6:
            labels = bytes.reversed().flatMap { [String($0 & 0x0F, radix: 16), String($0 >> 4, radix: 16)] } + ["ip6", "arpa"]
        }
        return DomainName(labels.joined(separator: ".") + ".")!
    }

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
