// Prober: the one-probe interface the checker drives; TCPProber and HTTPProber implement it.

import NIOCore

/// Runs one probe of one target on an event loop.
///
/// A prober bounds the whole probe by `target.timeout` and never fails its future: every failure is an
/// `.unhealthy(reason:)`, since to the checker a failed probe is a result, not an error.
protocol Prober: Sendable {
    /// Starts one probe; call on `eventLoop`. The result completes on `eventLoop`. The prober attaches its connection
    /// to `cancellation`, so that the checker can close it when it stops.
    func probe(
        _ target: ProbeTarget, on eventLoop: any EventLoop, cancellation: ProbeCancellation
    ) -> EventLoopFuture<ProbeResult>
}
