import DNSMessage
import ServiceModel

/// Which zone a client is in (`--client-zone CIDR=ZONE`): the zone of the longest prefix that holds its address.
/// A resolver among `subnetSources` (`--allow-recursion`) may speak for its client with the EDNS Client Subnet
/// option (RFC 7871); then the zone is that of the client's subnet.
public struct ClientZones: Sendable {
    /// Longest prefix first, so the first that holds an address is the one.
    private let entries: [(network: IPNetwork, zone: [UInt8])]
    /// Senders whose Client Subnet option is believed: only they could use it to pick another zone's endpoints.
    private let subnetSources: [IPNetwork]

    /// `--client-zone` flags at most.
    public static let maxEntries = 1000

    public init(_ entries: [(network: IPNetwork, zone: String)] = [], subnetSources: [IPNetwork] = []) {
        self.entries = entries.sorted { $0.network.prefixLength > $1.network.prefixLength }
            .map { ($0.network, Array($0.zone.lowercased().utf8)) }
        self.subnetSources = subnetSources
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The lowercased zone label of `client`, nil when no range holds it.
    func zone(of client: IPAddress) -> [UInt8]? {
        entries.first { $0.network.contains(client) }?.zone
    }

    /// Where a query is answered for.
    struct Location {
        /// The client's zone label; empty when the client is in no known zone.
        var zone: [UInt8]
        /// The Client Subnet option that named the client, to echo with a scope; nil when it was not used.
        var subnet: ClientSubnet?
    }

    /// The zone to answer a query for: the subnet's, when a resolver allowed to recurse sent one (a source
    /// prefix of 0 discloses nothing, so the sender's own zone stands and the answer is echoed with scope 0),
    /// else the sender's. Nil when svcdns knows no zones, or neither names one and no subnet was used.
    func locate(client: IPAddress?, subnet: ClientSubnet?) -> Location? {
        guard !entries.isEmpty else { return nil }
        if let subnet, let client, subnetSources.contains(where: { $0.contains(client) }) {
            guard let address = subnet.address, subnet.sourcePrefixLength > 0 else {
                return Location(zone: zone(of: client) ?? [], subnet: subnet)
            }
            // Only a range that holds the whole subnet speaks for all its clients.
            let holding = entries.first { $0.network.prefixLength <= Int(subnet.sourcePrefixLength) && $0.network.contains(address) }
            return Location(zone: holding?.zone ?? [], subnet: subnet)
        }
        return client.flatMap(zone(of:)).map { Location(zone: $0, subnet: nil) }
    }

    /// Parses `CIDR=ZONE`: ZONE must be usable as one DNS label (1–63 letters, digits, '-' or '_').
    public static func parse(_ text: String) -> (network: IPNetwork, zone: String)? {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let network = IPNetwork(String(parts[0])) else { return nil }
        let zone = String(parts[1])
        let labelBytes = zone.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                true
            default: false
            }
        }
        guard (1...63).contains(zone.utf8.count), labelBytes else { return nil }
        return (network, zone)
    }
}

extension ClientSubnet {
    /// The subnet's address as an address of its family; nil for the unspecified family.
    var address: IPAddress? {
        switch family {
        case .ipv4: .v4(UInt32(truncatingIfNeeded: addressHigh >> 32))
        case .ipv6: .v6(addressHigh, addressLow)
        case .unspecified: nil
        }
    }
}
