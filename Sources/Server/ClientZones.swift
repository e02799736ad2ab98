import ServiceModel

/// Which zone a client is in (`--client-zone CIDR=ZONE`): the zone of the longest prefix that holds its address.
public struct ClientZones: Sendable {
    /// Longest prefix first, so the first that holds an address is the one.
    private let entries: [(network: IPNetwork, zone: [UInt8])]

    /// `--client-zone` flags at most.
    public static let maxEntries = 1000

    public init(_ entries: [(network: IPNetwork, zone: String)] = []) {
        self.entries = entries.sorted { $0.network.prefixLength > $1.network.prefixLength }
            .map { ($0.network, Array($0.zone.lowercased().utf8)) }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The lowercased zone label of `client`, nil when no range holds it.
    func zone(of client: IPAddress) -> [UInt8]? {
        entries.first { $0.network.contains(client) }?.zone
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
