import Forwarding
import Logging
import NIOCore
import NIOPosix
import Server
import ServiceLifecycle

/// Sends the forwarding loop guard's probes once svcdns listens: each probe name to its upstreams, again every
/// second while they give no answer (an upstream starting after svcdns, or a peer that forwards to it), for at
/// most `window`. A probe that comes back to svcdns as a query is caught by the guard on the query path; this
/// only asks, and logs what the guard found.
struct LoopProbe: Service {
    let policy: ForwardingPolicy
    let readiness: Readiness
    let logger: Logger
    var window: Duration = .seconds(30)
    var pause: Duration = .seconds(1)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await probe()
        }
    }

    private func probe() async {
        let loopGuard = policy.loopGuard
        let started = ContinuousClock.now
        // The probe must find svcdns listening, or a loop would end in a closed port instead of the guard.
        while !readiness.isReady {
            guard ContinuousClock.now - started < window, !Task.isCancelled else { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        var pending = loopGuard.probes
        while !pending.isEmpty, ContinuousClock.now - started < window, !Task.isCancelled {
            var unanswered: [ForwardingLoopGuard.Probe] = []
            for probe in pending {
                let outcome = try? await policy.forwarder.forward(
                    name: probe.name, type: .hinfo, dnssecOK: false, overTCP: false, servingStale: false,
                    on: MultiThreadedEventLoopGroup.singleton.next()
                ).get()
                if let loop = loopGuard.found {
                    logger.error(
                        "forwarding loop: a probe came back, names outside the zones are refused",
                        metadata: ["probe": "\(loop.name)", "upstream.address": "\(loop.upstreams.map(\.description))"]
                    )
                    return
                }
                if case .answered = outcome { continue }
                unanswered.append(probe)
            }
            pending = unanswered
            if !pending.isEmpty { try? await Task.sleep(for: pause) }
        }
    }
}
