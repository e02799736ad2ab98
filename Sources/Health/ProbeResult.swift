// ProbeResult: what one probe found, as a prober hands it to the rise/fall state machine.

/// The outcome of one probe.
public enum ProbeResult: Hashable, Sendable {
    /// The probe passed: connected (TCP), or a 2xx or 3xx status (HTTP).
    case healthy
    /// The probe failed; `reason` is one short phrase for logs and the status API
    /// (`connection refused`, `timed out after 1s`, `HTTP 503`).
    case unhealthy(reason: String)
}
