// IPNetwork: an address range in CIDR notation, for --allow-recursion and --service-cidr.

/// An address range such as `10.96.0.0/12` or `fc00::/7`.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses `ADDR/LEN` (a bare address is a /32 or /128); the address is masked to its prefix.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let maximum = address.family == .ipv4 ? 32 : 128
        let length = parts.count == 2 ? Int(parts[1]) : maximum
        guard let length, (0...maximum).contains(length) else { return nil }
        self.prefixLength = length
        self.address = Self.mask(address, length)
    }

    /// True when `candidate` is in the range (never across families).
    public func contains(_ candidate: IPAddress) -> Bool {
        candidate.family == address.family && Self.mask(candidate, prefixLength) == address
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private static func mask(_ address: IPAddress, _ length: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            return .v4(length == 0 ? 0 : value & (UInt32.max << (32 - length)))
        case .v6(let high, let low):
            let highMask: UInt64 = length >= 64 ? .max : (length == 0 ? 0 : UInt64.max << (64 - length))
            let lowMask: UInt64 = length <= 64 ? 0 : (length == 128 ? .max : UInt64.max << (128 - length))
            return .v6(high & highMask, low & lowMask)
        }
    }

    /// Who may use forwarding by default: the host itself and private networks (loopback, RFC 1918,
    /// fc00::/7), so that svcdns is never an open resolver out of the box.
    public static let privateNetworks: [IPNetwork] = [
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7",
    ].compactMap(IPNetwork.init)
}
