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
}
