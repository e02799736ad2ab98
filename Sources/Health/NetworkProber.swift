// NetworkProber: picks the prober for a target's kind; what HealthChecker uses unless a test injects another.

import NIOCore

/// Probes each target over the network, with the prober its kind calls for.
struct NetworkProber: Prober {
    func probe(
        _ target: ProbeTarget, on eventLoop: any EventLoop, cancellation: ProbeCancellation
    ) -> EventLoopFuture<ProbeResult> {
        switch target.kind {
        case .tcp: TCPProber().probe(target, on: eventLoop, cancellation: cancellation)
        case .http: HTTPProber().probe(target, on: eventLoop, cancellation: cancellation)
        }
    }
}
