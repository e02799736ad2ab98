// ServicePort: one entry of a Service's `spec.ports`.

/// One port a Service exposes. Only named ports get SRV records.
public struct ServicePort: Hashable, Sendable {
    /// The port's name, a DNS-1123 label; `nil` when unnamed (an empty name in the manifest is unnamed too).
    public var name: String?
    /// The port number on the ClusterIP, 1-65535.
    public var port: Int
    /// The transport protocol; `TCP` when the manifest leaves it out.
    public var `protocol`: PortProtocol
    /// Where traffic goes on the endpoints; `nil` when the manifest leaves it out (Kubernetes then uses `port`).
    public var targetPort: TargetPort?

    /// Creates a port; the values are not validated here.
    public init(name: String? = nil, port: Int, protocol: PortProtocol = .tcp, targetPort: TargetPort? = nil) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
        self.targetPort = targetPort
    }
}
