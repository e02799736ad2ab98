import ArgumentParser
import Authority
import Forwarding
import ControlAPI
import DNSMessage
import Health
import Logging
import NIOCore
import NIOPosix
import Prometheus
import Registry
import Server
import ServiceLifecycle
import ServiceModel

/// What `svcdns serve` runs, wired from its configuration, as Hummingbird's `Application` wires a router and a
/// server: the registry and its sources (folder, store or etcd), the snapshot publisher, the health checker, and
/// the DNS and HTTP servers, run as one swift-service-lifecycle group until SIGTERM or SIGINT.
///
/// Making one opens the store, lists etcd when it is the store, and builds the first snapshot, so that `run()`
/// answers correctly from its first query.
struct ServeApplication {
    /// Everything the flags decide, resolved and checked.
    struct Configuration {
        var zones: String
        var domain: DomainName
        /// The zones folder as read at start, and the state its watcher goes on from.
        var folder: FolderContents
        var folderState: FolderState
        var reloadInterval: Duration
        /// A directory for the embedded store, or `etcd://HOST:PORT[,…][/PREFIX]`.
        var store: String
        var apiToken: String?
        var cluster: ClusterSettings
        var health: HealthDefaults
        var forwarding: ForwardingPolicy?
        /// Probe the upstreams for a forwarding loop at start (`--no-loop-probe` turns it off).
        var loopProbe = true
        /// `--autopath`: clients whose search list is walked here.
        var autopath: [IPNetwork] = []
        /// `--client-zone`: where each client is, for Services that follow zones.
        var clientZones = ClientZones()
        /// `--transfer-to`: secondaries that may transfer the zones; `--notify`: those told of each change.
        var transferTo: [IPNetwork] = []
        var notify: [Upstream] = []
        /// `--transfer-journal`: changed records kept per zone for IXFR.
        var transferJournal = TransferJournal.defaultMaxRecords
        /// `--max-transfers`: transfers written at once.
        var maxTransfers = TransferPolicy.defaultMaxConcurrent
        var dns: DNSServerConfiguration
        var http: ListenAddress
        var httpLimits: ControlServer.Limits
        /// How long DNS goes on answering after SIGTERM, while `/readyz` says 503.
        var lameduck: Duration
    }

    private let services: ServiceGroup

    init(configuration: Configuration, metrics: PrometheusCollectorRegistry, logger: Logger) async throws {
        let snapshots = SnapshotStore()
        // Secondaries ignore a serial that went back: the embedded store's directory keeps it growing across
        // restarts. (On etcd the replicas share no directory; there it is the clock's, see the README.)
        let serialCeiling = try Self.openSerialCeiling(configuration, logger: logger)
        let publisher = SnapshotPublisher(
            builder: SnapshotBuilder(settings: configuration.cluster), store: snapshots,
            logger: Logger(label: "svcdns.snapshot"), serialFloor: serialCeiling?.floor ?? 0,
            reserveSerial: serialCeiling.map { ceiling -> @Sendable (UInt32) throws -> Void in
                { serial in try ceiling.reserve(serial) }
            }
        )
        // Probes run on a thread of their own, so a burst of probes never delays a DNS answer.
        let healthChecker = try HealthChecker(
            defaults: configuration.health, exposure: configuration.cluster.exposure, logger: Logger(label: "svcdns.health"),
            onChange: { verdicts, transitions in
                publisher.update(health: verdicts, origin: transitions.isEmpty ? nil : ChangeOrigin(.health))
            }
        )
        let onChange: LiveRegistry.ChangeHandler = { change in
            publisher.update(
                catalog: change.catalog, zones: change.zones, changedServices: change.changedServices, sequence: change.sequence,
                origin: change.origin
            )
            healthChecker.update(catalog: change.catalog, changedServices: change.changedServices, sequence: change.sequence)
        }
        let (liveRegistry, shared) = try Self.openRegistry(configuration, onChange: onChange, logger: logger)

        // With etcd, the shared objects come from its prefix: listed once before the first answer, then watched by
        // the follower.
        let storeStatus = StoreStatus()
        var follower = shared.map {
            EtcdFollower(
                client: $0.client, prefix: $0.prefix, registry: liveRegistry, status: storeStatus,
                logger: Logger(label: "svcdns.etcd")
            )
        }
        if let listing = follower {
            follower?.listedAt = await listing.listFirst(within: .seconds(5))
        }
        let registryNow = liveRegistry.current
        publisher.update(catalog: registryNow.catalog, zones: registryNow.zones, sequence: registryNow.sequence)
        healthChecker.update(catalog: registryNow.catalog, sequence: registryNow.sequence)
        let snapshot = publisher.rebuildNow()
        logger.info(
            "registry loaded",
            metadata: [
                "zones.directory": "\(configuration.zones)", "registry.summary": "\(configuration.folder.summary)",
                "snapshot.names": "\(snapshot.summary.names)", "snapshot.packed_bytes": "\(snapshot.packedByteCount)",
            ]
        )

        let folderWatcher = FolderWatcher(
            source: FolderSource(directory: configuration.zones, domain: configuration.domain),
            state: configuration.folderState, interval: configuration.reloadInterval,
            logger: Logger(label: "svcdns.registry"), onChange: { contents in liveRegistry.replaceFolder(contents) }
        )
        let readiness = Readiness()
        let transferJournal =
            configuration.transferTo.isEmpty && configuration.notify.isEmpty
            ? nil : TransferJournal(maxRecords: configuration.transferJournal)
        let dnsServer = DNSServer(
            configuration: configuration.dns,
            pipeline: QueryPipeline(
                resolver: QueryResolver(
                    snapshots: snapshots, forwarding: configuration.forwarding, autopathClients: configuration.autopath,
                    clientZones: configuration.clientZones,
                    transfers: transferJournal.map {
                        TransferPolicy(journal: $0, allowed: configuration.transferTo, maxConcurrent: configuration.maxTransfers)
                    })
            ),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "svcdns.server"), readiness: readiness
        )
        // A replica on etcd is ready once it holds the shared objects; after that an outage only degrades it, since
        // DNS keeps answering from the last data.
        let needsListing = shared != nil
        var endpoints = ControlServer.Endpoints(
            isReady: { readiness.isReady && (!needsListing || storeStatus.hasListed) },
            metrics: { metrics.emitToBuffer() }, endpointStatuses: { await healthChecker.statuses() }
        )
        let loopGuard = configuration.forwarding?.loopGuard
        endpoints.forwardingProblem = {
            loopGuard?.found.map { "refused: a forwarding loop: the probe \($0)" }
        }
        endpoints.storeProblem = {
            let unreachable = storeStatus.unreachable.map { "etcd unreachable: \($0)" }
            guard needsListing && !storeStatus.hasListed else { return unreachable }
            return "not yet listed from etcd" + (unreachable.map { ": \($0)" } ?? "")
        }
        let controlServer = ControlServer(
            host: configuration.http.host, port: configuration.http.port, logger: Logger(label: "svcdns.http"),
            endpoints: endpoints, registry: liveRegistry, apiToken: configuration.apiToken, limits: configuration.httpLimits
        )
        var serviceList: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: publisher), .init(service: folderWatcher), .init(service: healthChecker),
            .init(service: dnsServer), .init(service: controlServer),
        ]
        if let follower { serviceList.append(.init(service: follower)) }
        if let transferJournal {
            let notifier = configuration.notify.isEmpty ? nil : NotifySender(targets: configuration.notify, logger: Logger(label: "svcdns.transfer"))
            serviceList.append(
                .init(service: ZoneTransferService(
                    snapshots: snapshots, journal: transferJournal, notifier: notifier, logger: Logger(label: "svcdns.transfer"))))
        }
        if let forwarding = configuration.forwarding, configuration.loopProbe {
            // The probe ends once it has an answer (or found a loop); the rest go on.
            serviceList.append(
                .init(service: LoopProbe(policy: forwarding, readiness: readiness, logger: logger), successTerminationBehavior: .ignore)
            )
        }
        // SIGTERM goes through the lameduck period, whose end stops the group; SIGINT stops it at once.
        let lameduck = Lameduck(period: configuration.lameduck, readiness: readiness, logger: logger)
        serviceList.append(.init(service: lameduck, successTerminationBehavior: .gracefullyShutdownGroup))
        services = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: serviceList, gracefulShutdownSignals: [.sigint], logger: logger)
        )
    }

    /// Serves until SIGTERM (after the lameduck period) or SIGINT, then stops every part.
    func run() async throws {
        try await services.run()
    }

    /// The SOA serial's ceiling in the embedded store's directory; nil with etcd.
    private static func openSerialCeiling(_ configuration: Configuration, logger: Logger) throws -> SerialCeiling? {
        guard !configuration.store.hasPrefix("etcd://") else { return nil }
        do {
            return try SerialCeiling(directory: configuration.store)
        } catch {
            print("store: \(error.localizedDescription)")
            logger.error("not serving: the SOA serial cannot be read", metadata: ["error": "\(error.localizedDescription)"])
            throw ExitCode(1)
        }
    }

    /// The registry on the embedded store, or on etcd (returned too, for its follower).
    private static func openRegistry(
        _ configuration: Configuration, onChange: @escaping LiveRegistry.ChangeHandler, logger: Logger
    ) throws -> (LiveRegistry, EtcdStore?) {
        let shared = EtcdStore(url: configuration.store)
        if configuration.store.hasPrefix("etcd://") && shared == nil {
            print("store: \(configuration.store) is not etcd://HOST:PORT[,HOST:PORT...][/PREFIX]")
            throw ExitCode(1)
        }
        do {
            if let shared {
                return (try LiveRegistry(store: nil, shared: shared, folder: configuration.folder, onChange: onChange), shared)
            }
            let store = try ObjectStore(directory: configuration.store)
            return (try LiveRegistry(store: store, folder: configuration.folder, onChange: onChange), nil)
        } catch {
            // Never a silent empty registry: what was acknowledged to API clients must be served.
            print("store: \(error)")
            logger.error(
                "not serving: the store cannot be used", metadata: ["store.path": "\(configuration.store)", "error": "\(error)"]
            )
            throw ExitCode(1)
        }
    }
}
