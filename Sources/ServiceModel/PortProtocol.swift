// PortProtocol: the transport protocol of a Service or endpoint port.

/// The transport protocol of a port, with Kubernetes' raw values (`TCP`, `UDP`, `SCTP`).
public enum PortProtocol: String, Hashable, Sendable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"

    /// The `<proto>` label of an SRV owner name (`_http._tcp.…`): always lower case, as the DNS schema writes it.
    public var dnsLabel: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        case .sctp: "sctp"
        }
    }
}
