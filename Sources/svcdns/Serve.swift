import ArgumentParser
import Authority
import ControlAPI
import DNSMessage
import Foundation
import Logging
import NIOPosix
import Registry
import Server
import ServiceLifecycle
import ServiceModel

/// `svcdns serve`: answers DNS for the objects in a zones folder until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve DNS for a zones folder.")

    @OptionGroup var registry: RegistryOptions

    @Option(
        name: .customLong("dns"),
        help: "Address to answer DNS on, UDP and TCP: ADDR:PORT or [IPv6]:PORT. Repeatable. (default: 127.0.0.1:1053)"
    )
    var dnsAddresses: [String] = []

    @Option(name: .customLong("http"), help: "Address of the HTTP endpoint (GET /healthz).")
    var httpAddress: String = "127.0.0.1:8053"

    @Option(help: "Upstream resolvers for names outside svcdns's zones; 'none' refuses them.")
    var upstream: [String] = []

    @Option(help: "TTL in seconds of every record made from Kubernetes objects, and the SOA minimum.")
    var ttl: UInt32 = 5

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level \(logLevel) is not one of trace, debug, info, notice, warning, error, critical")
        }
        for text in dnsAddresses + [httpAddress] where ListenAddress(text) == nil {
            throw ValidationError("\(text) is not ADDR:PORT or [IPv6]:PORT")
        }
        for value in upstream where value != "none" {
            throw ValidationError("--upstream \(value): only 'none' is supported in this version (names outside the zones are refused)")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "svcdns")
        let domain = try registry.clusterDomain()
        let listen = (dnsAddresses.isEmpty ? ["127.0.0.1:1053"] : dnsAddresses).compactMap(ListenAddress.init)
        let http = ListenAddress(httpAddress)!

        guard let contents = try registry.loadOrReport() else {
            logger.error("not serving: the zones folder has problems", metadata: ["zones.directory": "\(registry.zones)"])
            throw ExitCode(1)
        }
        // ns.dns.<domain> answers with the addresses svcdns listens on, when they are specific ones.
        let nameServers = listen.compactMap { IPAddress($0.host) }.filter { $0 != IPAddress("0.0.0.0") && $0 != IPAddress("::") }
        let builder = ZoneBuilder(settings: ClusterSettings(domain: domain, ttl: ttl, nameServerAddresses: nameServers))
        let snapshot = builder.build(
            catalog: contents.catalog, staticZones: contents.zones, generation: 1,
            serial: UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
        )
        let snapshots = SnapshotStore(snapshot)
        logger.info(
            "registry loaded",
            metadata: [
                "zones.directory": "\(registry.zones)", "registry.summary": "\(contents.summary)",
                "snapshot.names": "\(snapshot.summary.names)",
            ]
        )

        let group = MultiThreadedEventLoopGroup.singleton
        let dnsServer = DNSServer(
            configuration: DNSServerConfiguration(addresses: listen),
            pipeline: QueryPipeline(resolver: QueryResolver(snapshots: snapshots)),
            group: group,
            logger: Logger(label: "svcdns.server")
        )
        let controlServer = ControlServer(host: http.host, port: http.port, group: group, logger: Logger(label: "svcdns.http"))
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: dnsServer), .init(service: controlServer)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await services.run()
    }
}
