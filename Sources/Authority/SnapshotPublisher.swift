import CoreMetrics
import DNSMessage
import Foundation
import Locking
import Logging
import ServiceLifecycle
import ServiceModel

#if canImport(Glibc)
import Glibc
#endif

/// Rebuilds and publishes the snapshot whenever its inputs change: the writer side of the snapshot swap.
///
/// Changes only mark the inputs dirty; one task builds, so a burst of changes (many probe verdicts in
/// one tick, a folder of files) costs one build. Queries never wait for it: they keep reading the
/// snapshot published last until the new one is stored.
///
/// A change that names the Services it touches is applied to the last snapshot (`SnapshotBuilder.update`);
/// one that does not (a new reading of the folder) rebuilds everything, and so does the change after the
/// incremental ones have changed so many names that their map costs more than packing them in again.
public final class SnapshotPublisher: ServiceLifecycle.Service, Sendable {
    /// What changed since the last build.
    private enum Pending {
        case nothing
        case services(Set<ObjectKey>)
        case everything

        mutating func merge(_ services: Set<ObjectKey>?) {
            switch (self, services) {
            case (.everything, _), (_, nil): self = .everything
            case (.nothing, let services?): self = .services(services)
            case (.services(let earlier), let services?): self = .services(earlier.union(services))
            }
        }
    }

    /// The inputs the published snapshot was built from: what an incremental build starts from.
    private struct Built {
        var catalog: Catalog
        var health: HealthVerdicts
        var snapshot: Snapshot
    }

    private struct Inputs {
        var catalog = Catalog()
        var zones: [ZoneFileContents] = []
        var health = HealthVerdicts()
        var generation: UInt64 = 0
        var serial: UInt32 = 0
        var failingOpen: Set<ObjectKey> = []
        var panicking: Set<ObjectKey> = []
        var pending = Pending.everything
        var built: Built? = nil
        /// Which registry changes arrived: the catalog is the newest one's.
        var arrived = ChangeWindow()
        /// The changes the next build publishes, for the programming latency: at most `maxAccepted`, the
        /// earliest (a later one is published by the same build, sooner after its acceptance).
        var accepted: [ChangeOrigin] = []

        mutating func accept(_ origin: ChangeOrigin) {
            if accepted.count < SnapshotPublisher.maxAccepted { accepted.append(origin) }
        }
    }

    /// Bounds the changes timed for one build: a burst beyond it is published with the ones kept.
    static let maxAccepted = 4096

    public let builder: SnapshotBuilder
    public let store: SnapshotStore
    private let inputs = Locked(Inputs())
    /// Held for a whole build, so two builds never start from the same snapshot and lose a change.
    private let building = Locked(())
    private let changes: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    private let logger: Logger
    private let failOpenCounter = Counter(label: "svcdns_health_fail_open_total")
    private let panicCounter = Counter(label: "svcdns_health_panic_total")
    private let builds = Counter(label: "svcdns_snapshot_builds_total")
    private let buildDuration = Timer(label: "svcdns_snapshot_build_duration_seconds")
    private let names = Gauge(label: "svcdns_snapshot_names")
    private let services = Gauge(label: "svcdns_registry_objects", dimensions: [("kind", "Service")])
    private let endpointSlices = Gauge(label: "svcdns_registry_objects", dimensions: [("kind", "EndpointSlice")])
    private let endpoints = Gauge(label: "svcdns_registry_objects", dimensions: [("kind", "Endpoints")])
    /// CoreDNS's `dns_programming_duration_seconds`: from a change's acceptance to the publication of the first
    /// snapshot that answers with it, by where it came from.
    private let programming = Dictionary(
        uniqueKeysWithValues: ChangeOrigin.Source.allCases.map {
            ($0, Timer(label: "svcdns_dns_programming_duration_seconds", dimensions: [("source", $0.rawValue)]))
        }
    )

    /// Called with each build's serial before the build is published (`SerialCeiling.reserve`).
    private let reserveSerial: (@Sendable (UInt32) throws -> Void)?

    /// `serialFloor`: the highest serial builds before this start may have taken; each build's is above it.
    public init(
        builder: SnapshotBuilder, store: SnapshotStore, logger: Logger, serialFloor: UInt32 = 0,
        reserveSerial: (@Sendable (UInt32) throws -> Void)? = nil
    ) {
        self.builder = builder
        self.store = store
        self.logger = logger
        self.reserveSerial = reserveSerial
        inputs.withLock { $0.serial = serialFloor }
        (changes, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// New objects and zone files; the rebuild follows shortly on the builder's task. `changedServices`
    /// names the Services whose records may differ (a Service, its EndpointSlices or Endpoints changed);
    /// nil when that is not known, which rebuilds everything.
    ///
    /// `sequence` is the registry's number of the change. Writers hand their changes on after releasing the
    /// registry's lock, so they may arrive out of order: the catalog of the newest number is kept, whatever
    /// arrives after it, and no build starts while a change older than the kept one is still on its way
    /// (its Services would be built from a catalog that already holds it, as if they had not changed).
    /// Without a number, changes are taken in the order they arrive.
    ///
    /// `origin` says where the change came from and when it was accepted: the build that publishes it records
    /// the time since in `svcdns_dns_programming_duration_seconds`.
    public func update(
        catalog: Catalog, zones: [ZoneFileContents], changedServices: Set<ObjectKey>? = nil, sequence: UInt64? = nil,
        origin: ChangeOrigin? = nil
    ) {
        inputs.withLock { inputs in
            if inputs.arrived.receive(sequence, isWhole: changedServices == nil) {
                inputs.catalog = catalog
                inputs.zones = zones
            }
            inputs.pending.merge(changedServices)
            if let origin { inputs.accept(origin) }
        }
        signal.yield()
    }

    /// New health verdicts; the rebuild follows shortly on the builder's task. `origin`: when a transition
    /// made them (nil when only endpoints came or went).
    public func update(health: HealthVerdicts, origin: ChangeOrigin? = nil) {
        inputs.withLock { inputs in
            inputs.pending.merge(health.servicesChanged(since: inputs.health))
            inputs.health = health
            if let origin { inputs.accept(origin) }
        }
        signal.yield()
    }

    /// Builds from the current inputs and publishes, on the caller's task (startup and tests).
    @discardableResult
    public func rebuildNow() -> Snapshot {
        building.withLock { _ in buildAndPublish() }
    }

    private static let buildQueue = DispatchQueue(label: "svcdns.snapshot-builder")

    /// Builds when something changed since the last build. A signal can outlive its change: the first
    /// ones arrive before startup's `rebuildNow`, and a full rebuild for nothing at 1M endpoints takes
    /// seconds and doubles the memory while it runs.
    private func rebuildIfChanged() {
        building.withLock { _ in
            let idle = inputs.withLock { inputs in
                // The change that fills the gap signals again when it arrives.
                if inputs.arrived.isWaiting { return true }
                if case .nothing = inputs.pending, inputs.built != nil { return true }
                return false
            }
            if !idle { _ = buildAndPublish() }
        }
    }

    private func buildAndPublish() -> Snapshot {
        let (catalog, zones, health, generation, serial, pending, built, accepted) = inputs.withLock { inputs in
            inputs.generation += 1
            // The serial must grow with every build. Seconds since 1970 make it tell the time when builds are
            // rare; the floor (kept in the store) orders restarts after bursts that ran ahead of the clock.
            let now = UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
            inputs.serial = max(inputs.serial &+ 1, now)
            defer {
                inputs.pending = .nothing
                inputs.accepted = []
            }
            return (
                inputs.catalog, inputs.zones, inputs.health, inputs.generation, inputs.serial, inputs.pending, inputs.built,
                inputs.accepted
            )
        }
        if let reserveSerial {
            do {
                try reserveSerial(serial)
            } catch {
                logger.error("the SOA serial could not be kept for the next start", metadata: ["error": "\(error)"])
            }
        }
        let started = ContinuousClock.now
        let snapshot: Snapshot
        if case .services(let changed) = pending, let built, builder.allowsIncrementalUpdates(staticZones: zones),
            !built.snapshot.needsRepacking
        {
            snapshot = builder.update(
                built.snapshot, changing: changed, from: (built.catalog, built.health), to: (catalog, health),
                generation: generation, serial: serial
            )
        } else {
            snapshot = builder.build(catalog: catalog, staticZones: zones, health: health, generation: generation, serial: serial)
            Self.returnFreedMemory()
        }
        inputs.withLock { $0.built = Built(catalog: catalog, health: health, snapshot: snapshot) }
        store.publish(snapshot)
        let published = ContinuousClock.now
        // The first build is startup, not a change: what it took in (a listing of etcd) is not timed.
        for origin in built == nil ? [] : accepted {
            programming[origin.source]?.recordTime(published - origin.acceptedAt)
        }
        let took = published - started
        builds.increment()
        buildDuration.recordTime(took)
        names.record(snapshot.summary.names)
        let counts = catalog.counts
        services.record(counts.services)
        endpointSlices.record(counts.endpointSlices)
        endpoints.record(counts.endpoints)
        reportFailOpen(snapshot.summary.failOpenServices)
        reportPanic(snapshot.summary.panickingServices)
        logger.debug(
            "snapshot published",
            metadata: [
                "snapshot.generation": "\(generation)", "snapshot.names": "\(snapshot.summary.names)",
                "snapshot.build_ms": "\(took.milliseconds)",
            ]
        )
        return snapshot
    }

    /// A full build frees the previous snapshot and the build's scratch tables: hundreds of megabytes at
    /// 100,000 Services, which glibc keeps in its heap unless asked to give them back.
    private static func returnFreedMemory() {
        #if canImport(Glibc)
        // malloc.h is not part of the Glibc module; the symbol is looked up once, by name.
        _ = mallocTrim?(0)
        #endif
    }

    #if canImport(Glibc)
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()
    #endif

    /// Drains change signals until graceful shutdown: one build per burst of changes.
    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in changes {
                // A full build at 1M endpoints takes seconds: on a queue of its own it leaves Swift's
                // cooperative pool (one thread when svcdns is pinned to one CPU) to the API and the rest.
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    Self.buildQueue.async {
                        self.rebuildIfChanged()
                        done.resume()
                    }
                }
            }
        } onGracefulShutdown: {
            self.signal.finish()
        }
    }

    /// Logs and counts each Service once when it starts failing open, and once when it stops.
    private func reportFailOpen(_ services: [ObjectKey]) {
        report(
            services, kept: \.failingOpen, counter: failOpenCounter, level: .info,
            started: "every endpoint is down: answering with all of them (fail open)",
            ended: "a healthy endpoint is back: no longer failing open")
    }

    /// Logs and counts each Service once when it starts panicking, and once when it stops.
    private func reportPanic(_ services: [ObjectKey]) {
        report(
            services, kept: \.panicking, counter: panicCounter, level: .warning,
            started: "fewer endpoints healthy than the panic threshold: answering with all of them (panic)",
            ended: "enough endpoints healthy again: no longer panicking")
    }

    /// The Services in `services` and not in the set `kept` are counted and logged as `started`, those gone from
    /// it as `ended`; then `kept` is `services`.
    private func report(
        _ services: [ObjectKey], kept: WritableKeyPath<Inputs, Set<ObjectKey>>, counter: Counter, level: Logger.Level,
        started: Logger.Message, ended: Logger.Message
    ) {
        let now = Set(services)
        let before = inputs.withLock { inputs in
            defer { inputs[keyPath: kept] = now }
            return inputs[keyPath: kept]
        }
        for service in now.subtracting(before).sorted() {
            counter.increment()
            logger.log(level: level, started, metadata: ["health.service": "\(service)"])
        }
        for service in before.subtracting(now).sorted() {
            logger.info(ended, metadata: ["health.service": "\(service)"])
        }
    }
}

extension CoreMetrics.Timer {
    fileprivate func recordTime(_ duration: Duration) {
        recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}

extension Duration {
    fileprivate var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
