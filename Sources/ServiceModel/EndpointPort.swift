// EndpointPort: one port of an EndpointSlice or of an Endpoints subset.

/// A port the endpoints listen on. Its name ties it to the Service port of the same name.
public struct EndpointPort: Hashable, Sendable {
    /// The port's name; `nil` when unnamed (an empty name in the manifest is unnamed too).
    public var name: String?
    /// The port number, 1-65535; `nil` when the slice leaves it out (Kubernetes: "all ports").
    public var port: Int?
    /// The transport protocol; `TCP` when the manifest leaves it out.
    public var `protocol`: PortProtocol

    /// Creates a port; the values are not validated here.
    public init(name: String? = nil, port: Int?, protocol: PortProtocol = .tcp) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
    }
}
