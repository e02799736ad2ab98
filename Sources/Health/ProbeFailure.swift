// ProbeFailure: what went wrong with a probe, as the short reasons logs and the status API show.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The reason phrases of failed probes.
enum ProbeFailure {
    /// `timed out after 1s`, `timed out after 300ms`.
    static func timedOut(after timeout: Duration) -> String {
        "timed out after \(text(of: timeout))"
    }

    /// A reason for the error number of a probe's connect, read or write.
    static func reason(errno code: Int32, timeout: Duration) -> String {
        switch code {
        case ECONNREFUSED: "connection refused"
        case ECONNRESET, EPIPE: "connection reset"
        case ETIMEDOUT: timedOut(after: timeout)
        case EHOSTUNREACH: "host unreachable"
        case ENETUNREACH: "network unreachable"
        default: String(cString: strerror(code)).lowercased()
        }
    }

    /// A duration as the annotations write it: `2s`, `500ms`, or `1500ms` when not whole seconds.
    static func text(of duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 {
            return "\(seconds)s"
        }
        // Overflow-checked: the duration came from input. Far past any valid timeout, whole seconds are shown.
        guard seconds < Int64.max / 1000 - 1 else { return "\(seconds)s" }
        return "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000)ms"
    }
}
