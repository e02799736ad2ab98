// TargetPort: where a Service port sends traffic on its endpoints (Kubernetes IntOrString).

/// A Service port's `targetPort`: a port number, or the name of a container port (which may differ between pods).
public enum TargetPort: Hashable, Sendable {
    /// A port number, 1-65535.
    case number(Int)
    /// An IANA service name naming a container port.
    case name(String)
}
