// ProbeKind: what one probe does on the wire.

/// How an endpoint is probed.
public enum ProbeKind: Hashable, Sendable {
    /// A TCP connect; healthy when it connects.
    case tcp
    /// An HTTP/1.1 GET of `path`; healthy on a 2xx or 3xx status.
    case http(path: String)
}
