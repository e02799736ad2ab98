// ProbeFailure: errors of a probe's connection turned into the short reasons logs and the status API show.

import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The reason phrases of failed probes.
enum ProbeFailure {
    /// `timed out after 1s`, `timed out after 300ms`.
    static func timedOut(after timeout: Duration) -> String {
        "timed out after \(text(of: timeout))"
    }

    /// A reason for an error of a probe's connect, read or write.
    static func reason(for error: any Error, timeout: Duration) -> String {
        if case ChannelError.connectTimeout = error {
            return timedOut(after: timeout)
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ECONNRESET: return "connection reset"
            case ETIMEDOUT: return timedOut(after: timeout)
            case EHOSTUNREACH: return "host unreachable"
            case ENETUNREACH: return "network unreachable"
            default: return String(cString: strerror(error.errnoCode)).lowercased()
            }
        }
        if let error = error as? ChannelError, error == .eof || error == .ioOnClosedChannel || error == .alreadyClosed {
            return "connection closed"
        }
        return "\(error)"
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
