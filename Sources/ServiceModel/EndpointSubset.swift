// EndpointSubset: one entry of a legacy `v1` Endpoints object's `subsets`.

/// A set of addresses that all listen on the same ports.
public struct EndpointSubset: Hashable, Sendable {
    /// `addresses`: the ready ones.
    public var addresses: [EndpointAddress]
    /// `notReadyAddresses`: served only when the Service publishes not-ready addresses.
    public var notReadyAddresses: [EndpointAddress]
    /// `ports`.
    public var ports: [EndpointPort]

    /// Creates a subset; the values are not validated here.
    public init(
        addresses: [EndpointAddress] = [],
        notReadyAddresses: [EndpointAddress] = [],
        ports: [EndpointPort] = []
    ) {
        self.addresses = addresses
        self.notReadyAddresses = notReadyAddresses
        self.ports = ports
    }
}
