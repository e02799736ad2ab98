import Logging
import Server
import ServiceLifecycle
import UnixSignals

/// SIGTERM's way out (`--lameduck`): `/readyz` answers 503 at once, so a load balancer or the kubelet moves
/// clients away, while DNS (UDP and TCP) keeps answering for the lameduck period; then the service group stops
/// (this service ends, and ending stops the group). SIGINT stops at once: it is the group's own shutdown signal,
/// and a lameduck period under way ends with it.
struct Lameduck: Service {
    let period: Duration
    let readiness: Readiness
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in await UnixSignalsSequence(trapping: .sigterm) {
                break
            }
            guard !Task.isCancelled else { return }
            readiness.markDraining()
            logger.notice("SIGTERM: not ready, answering for the lameduck period, then stopping", metadata: ["lameduck": "\(period)"])
            try? await Task.sleep(for: period)
        }
    }
}
