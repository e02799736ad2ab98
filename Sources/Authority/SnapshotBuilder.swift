import CoreMetrics
import DNSMessage
import Foundation
import Logging
import ServiceLifecycle
import ServiceModel
import Synchronization

/// Rebuilds and publishes the snapshot whenever its inputs change: the writer side of the snapshot swap.
///
/// Changes only mark the inputs dirty; one task builds, so a burst of changes (many probe verdicts in
/// one tick, a folder of files) costs one build. Queries never wait for it: they keep reading the
/// snapshot published last until the new one is stored.
public final class SnapshotBuilder: ServiceLifecycle.Service, Sendable {
    private struct Inputs {
        var catalog = Catalog()
        var zones: [ZoneFileContents] = []
        var health = HealthVerdicts()
        var generation: UInt64 = 0
        var serial: UInt32 = 0
        var failingOpen: Set<ObjectKey> = []
    }

    public let builder: ZoneBuilder
    public let store: SnapshotStore
    private let inputs = Mutex(Inputs())
    private let changes: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    private let logger: Logger
    private let failOpenCounter = Counter(label: "svcdns_health_fail_open_total")
    private let builds = Counter(label: "svcdns_snapshot_builds_total")
    private let buildDuration = Timer(label: "svcdns_snapshot_build_duration_seconds")
    private let names = Gauge(label: "svcdns_snapshot_names")
    private let services = Gauge(label: "svcdns_registry_objects", dimensions: [("kind", "Service")])
    private let endpointSlices = Gauge(label: "svcdns_registry_objects", dimensions: [("kind", "EndpointSlice")])
    private let endpoints = Gauge(label: "svcdns_registry_objects", dimensions: [("kind", "Endpoints")])

    public init(builder: ZoneBuilder, store: SnapshotStore, logger: Logger) {
        self.builder = builder
        self.store = store
        self.logger = logger
        (changes, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// New objects and zone files; the rebuild follows shortly on the builder's task.
    public func update(catalog: Catalog, zones: [ZoneFileContents]) {
        inputs.withLock {
            $0.catalog = catalog
            $0.zones = zones
        }
        signal.yield()
    }

    /// New health verdicts; the rebuild follows shortly on the builder's task.
    public func update(health: HealthVerdicts) {
        inputs.withLock { $0.health = health }
        signal.yield()
    }

    /// Builds from the current inputs and publishes, on the caller's task (startup and tests).
    @discardableResult
    public func rebuildNow() -> Snapshot {
        let (catalog, zones, health, generation, serial) = inputs.withLock { inputs in
            inputs.generation += 1
            // The serial must grow with every build; seconds since 1970 also orders restarts.
            let now = UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
            inputs.serial = max(inputs.serial &+ 1, now)
            return (inputs.catalog, inputs.zones, inputs.health, inputs.generation, inputs.serial)
        }
        let started = ContinuousClock.now
        let snapshot = builder.build(catalog: catalog, staticZones: zones, health: health, generation: generation, serial: serial)
        store.publish(snapshot)
        let took = ContinuousClock.now - started
        builds.increment()
        buildDuration.recordNanoseconds(took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000)
        names.record(snapshot.summary.names)
        let counts = catalog.counts
        services.record(counts.services)
        endpointSlices.record(counts.endpointSlices)
        endpoints.record(counts.endpoints)
        reportFailOpen(snapshot.summary.failOpenServices)
        logger.debug(
            "snapshot published",
            metadata: [
                "snapshot.generation": "\(generation)", "snapshot.names": "\(snapshot.summary.names)",
                "snapshot.build_ms": "\(took.milliseconds)",
            ]
        )
        return snapshot
    }

    /// Drains change signals until graceful shutdown: one build per burst of changes.
    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in changes {
                rebuildNow()
            }
        } onGracefulShutdown: {
            self.signal.finish()
        }
    }

    /// Logs and counts each Service once when it starts failing open, and once when it stops.
    private func reportFailOpen(_ services: [ObjectKey]) {
        let now = Set(services)
        let before = inputs.withLock { inputs in
            defer { inputs.failingOpen = now }
            return inputs.failingOpen
        }
        for service in now.subtracting(before).sorted() {
            failOpenCounter.increment()
            logger.info("every endpoint is down: answering with all of them (fail open)", metadata: ["health.service": "\(service)"])
        }
        for service in before.subtracting(now).sorted() {
            logger.info("a healthy endpoint is back: no longer failing open", metadata: ["health.service": "\(service)"])
        }
    }
}

extension Duration {
    fileprivate var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
