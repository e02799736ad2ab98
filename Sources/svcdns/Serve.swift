import ArgumentParser
import Authority
import ControlAPI
import DNSMessage
import Forwarding
import Foundation
import Health
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
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

    @Option(help: "Threads answering UDP on each --dns address, each with its own socket on the port. (default: the CPUs svcdns may run on)")
    var udpWorkers: Int?

    @Option(name: .customLong("http"), help: "Address of the HTTP endpoint (GET /healthz).")
    var httpAddress: String = "127.0.0.1:8053"

    @Option(help: "Upstream resolver (ADDR[:PORT], repeatable) for names outside svcdns's zones; 'none' refuses them. (default: the nameservers of --resolv-conf)")
    var upstream: [String] = []

    @Option(name: .customLong("forward"), help: "Stub domain: names in ZONE go to these upstreams instead (ZONE=ADDR[:PORT][,ADDR...], repeatable; the longest zone wins).")
    var stubDomains: [String] = []

    @Flag(help: "Answer AAAA questions for forwarded names with no data, without asking upstream (for IPv4-only hosts); svcdns's own zones still answer AAAA.")
    var filterAaaa = false

    @Flag(inversion: .prefixedNo, help: "At start, send a probe name through the upstreams and refuse to forward if it comes back (a forwarding loop).")
    var loopProbe = true

    /// `--forward` flags at most.
    static let maxStubDomains = 100
    static let maxTransferRanges = 1000
    static let maxNotifyTargets = 100
    static let maxTransferJournal = 10_000_000

    @Option(help: "Where to read upstreams from when --upstream is not given.")
    var resolvConf: String = "/etc/resolv.conf"

    @Option(help: "How long one upstream may take to answer (500ms, 2s).")
    var upstreamTimeout: String = "2s"

    @Option(help: "Forwarded answers kept at most (least recently used out).")
    var cacheSize: Int = 10000

    @Option(help: "Memory the forwarded answers may take in all (least recently used out): bytes, or with KiB, MiB, GiB.")
    var cacheMemory: String = "64MiB"

    @Option(help: "Longest time in seconds a forwarded answer is kept, whatever its TTL.")
    var cacheMaxTtl: UInt32 = 3600

    @Option(help: "How long after it expired a forwarded answer may still be served, with TTL 30, when no upstream answers (RFC 8767; 1h, 1d; 0 = never).")
    var serveStale: String = "1h"

    @Option(help: "Refresh a forwarded answer asked this many times within its TTL before it expires (0 = never).")
    var prefetch: Int = 0

    @Option(help: "How long an upstream's SERVFAIL is kept and given again (5s, 1m; 0 = not kept).")
    var cacheServfail: String = "5s"

    @Option(help: "Clients allowed to use forwarding (CIDR, repeatable). (default: loopback, RFC 1918, fc00::/7)")
    var allowRecursion: [String] = []

    @Option(help: "The zone of clients in CIDR (CIDR=ZONE, repeatable; the longest prefix wins): Services that follow zones answer them with that zone's endpoints first. A client in --allow-recursion may name its subnet instead, with EDNS Client Subnet.")
    var clientZone: [String] = []

    @Option(help: "Secondaries (CIDR, repeatable) that may transfer the zones over TCP: AXFR, and IXFR from the journal. (default: nobody)")
    var transferTo: [String] = []

    @Option(help: "Send NOTIFY to this secondary after each change, at most once a second per zone (ADDR:PORT, repeatable).")
    var notify: [String] = []

    @Option(help: "Changed records kept per zone for IXFR; a secondary further behind gets the whole zone.")
    var transferJournal: Int = TransferJournal.defaultMaxRecords

    @Option(help: "Zone transfers written at once, across all connections; one more is REFUSED until one ends.")
    var maxTransfers: Int = TransferPolicy.defaultMaxConcurrent

    @Option(help: "Clients (CIDR, repeatable) whose resolv.conf has the Kubernetes search list: a miss under <ns>.svc is answered by walking the rest of it here.")
    var autopath: [String] = []

    @Option(help: "Address ranges of Services and pods (CIDR, repeatable): their reverse names are answered here, never forwarded.")
    var serviceCidr: [String] = ["10.96.0.0/12"]

    @Option(help: "TTL in seconds of every record made from Kubernetes objects (a Service's svcdns.io/ttl annotation wins).")
    var ttl: UInt32 = 5

    @Option(help: "TTL in seconds of negative answers (NXDOMAIN, NODATA) from the cluster zone: the TTL and minimum of its SOA.")
    var negativeTtl: UInt32 = 5

    @Option(
        help: """
            A token every API write, object read and /status request must carry as 'Authorization: Bearer TOKEN'. \
            Without one, only loopback clients may write.
            """
    )
    var apiToken: String?

    @Option(help: "A file holding the API token (its first line), so the token stays out of the process list.")
    var apiTokenFile: String?

    @Option(
        help: """
            Where objects written through the API live: a folder (SQLite), or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] \
            for a registry several replicas share.
            """
    )
    var store: String = "svcdns-data"

    @Option(help: "How often the zones folder is checked for changed files (SIGHUP checks at once).")
    var reloadInterval: String = "1s"

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(help: "Time between probes of one endpoint (500ms, 2s, 1m); svcdns.io/health-interval overrides it.")
    var healthInterval: String = "2s"

    @Option(help: "How long one probe may take; svcdns.io/health-timeout overrides it.")
    var healthTimeout: String = "1s"

    @Option(help: "Consecutive failed probes that take an endpoint out of answers; svcdns.io/health-fall overrides it.")
    var healthFall: Int = 3

    @Option(help: "Consecutive good probes that bring it back; svcdns.io/health-rise overrides it.")
    var healthRise: Int = 2

    @Option(help: "Open DNS-over-TCP connections at most; at the cap a new one closes a connection quiet the longest. (default: a quarter of the open-file limit, at most 4096)")
    var tcpMaxConnections: Int?

    @Option(help: "Open DNS-over-TCP connections of one client (an IPv4 address or IPv6 /64) at most; at it the client's new one closes its own quietest. (default: a tenth of --tcp-max-connections)")
    var tcpMaxConnectionsPerClient: Int?

    @Option(help: "A DNS-over-TCP connection with nothing moving either way, or whose client does not read its answers, is closed after this.")
    var tcpIdleTimeout: String = "10s"

    @Option(help: "Log answered queries as JSON lines on standard output: off, all, denial (NXDOMAIN, NODATA) or error (SERVFAIL, REFUSED, FORMERR, ...).")
    var queryLog: String = "off"

    @Option(help: "Log one query in N of those --query-log selects.")
    var queryLogSample: Int = 1

    @Option(help: "Query log lines waiting to be written at most; lines past it are dropped and counted, never waited for.")
    var queryLogQueue: Int = QueryLog.defaultQueueSize

    @Option(help: "After SIGTERM, /readyz answers 503 at once while DNS keeps answering this long, then svcdns stops (0 = at once; SIGINT always stops at once).")
    var lameduck: String = "5s"

    @Option(help: "A TCP connection is taken once its first bytes arrive, or when this has passed (seconds; 0 takes connections at once): idle connections wait in the kernel's handshake queue, not in the accept queue where they would crowd out clients' queries.")
    var tcpDeferAccept: Int = 5

    @Option(help: "Queries of one TCP connection answered concurrently; past it the connection is not read until one is answered.")
    var tcpMaxInFlight: Int = 64

    @Option(help: "Bytes of answers queued for one TCP connection whose client does not read; past it the connection is closed.")
    var tcpMaxQueuedBytes: Int = 256 * 1024

    @Option(help: "Open HTTP connections at most; more wait in the listen backlog.")
    var httpMaxConnections: Int = 256

    @Option(help: "An HTTP connection idle this long, or a request not received whole within it, is closed.")
    var httpTimeout: String = "30s"

    @Option(help: "Bytes of HTTP request headers at most; a larger request is refused.")
    var httpMaxHeaderBytes: Int = 16 * 1024

    @Flag(help: "When every endpoint of a Service is down, answer with none of them instead of all of them.")
    var noFailOpen = false

    @Option(help: "Order of multi-record answers: round-robin, random or none.")
    var rotate: String = RotationMode.roundRobin.rawValue

    @Option(help: "At most this many records of one RRset per answer, rotating through all of them; 0 means all.")
    var maxAnswers: Int = 0

    @Option(help: "When fewer than this percentage of a Service's endpoints are healthy (but some are), answer with all of them; 0 = never (a Service's svcdns.io/panic-threshold wins).")
    var panicThreshold: Int = 0

    @Option(help: "Pod names a-b-c-d.<ns>.pod.<domain>: insecure (any), verified (only an address a Service of <ns> has) or disabled.")
    var pods: String = PodRecordMode.insecure.rawValue

    @Flag(help: "Name an endpoint without a hostname after its pod (targetRef.name) when that is a DNS label, not after its address.")
    var endpointPodNames = false

    @Option(help: "Response rate limiting: UDP answers a second per client /24 (IPv6 /56), name and kind of answer; 0 turns it off. TCP is never limited.")
    var rrlRate: Int = 0

    @Option(help: "Every Nth rate-limited answer goes out empty with TC, so a real client retries over TCP; the rest are dropped. 0 drops all, 1 slips all.")
    var rrlSlip: Int = ResponseRateLimit.defaultSlip

    @Option(help: "Buckets (8 bytes each) of the response rate limiting table, allocated at start.")
    var rrlTableSize: Int = ResponseRateLimit.defaultTableSize

    func validate() throws {
        _ = try registry.exposure()
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level \(logLevel) is not one of trace, debug, info, notice, warning, error, critical")
        }
        for text in dnsAddresses + [httpAddress] where ListenAddress(text) == nil {
            throw ValidationError("\(text) is not ADDR:PORT or [IPv6]:PORT")
        }
        // Every number from a flag is range-checked here, so that nothing behind it can overflow or trap.
        let durations: [(flag: String, text: String, range: ClosedRange<Duration>)] = [
            ("--health-interval", healthInterval, HealthCheckOverrides.intervalRange),
            ("--health-timeout", healthTimeout, HealthCheckOverrides.timeoutRange),
            ("--upstream-timeout", upstreamTimeout, Self.upstreamTimeoutRange),
            ("--reload-interval", reloadInterval, Self.reloadIntervalRange),
            ("--tcp-idle-timeout", tcpIdleTimeout, Self.connectionTimeoutRange),
            ("--http-timeout", httpTimeout, Self.connectionTimeoutRange),
        ]
        for (flag, text, range) in durations {
            guard let duration = HealthCheckOverrides.parseDuration(text) else {
                throw ValidationError("\(flag) \(text) is not a duration (like 500ms, 2s, 1m)")
            }
            if let reason = HealthCheckOverrides.outOfRange(duration, range, text: text) {
                throw ValidationError("\(flag) \(reason)")
            }
        }
        if let interval = HealthCheckOverrides.parseDuration(healthInterval),
            let timeout = HealthCheckOverrides.parseDuration(healthTimeout), timeout > interval
        {
            throw ValidationError("--health-timeout \(healthTimeout) is longer than --health-interval \(healthInterval)")
        }
        for (flag, value) in [("--ttl", ttl), ("--negative-ttl", negativeTtl), ("--cache-max-ttl", cacheMaxTtl)]
        where value > Self.maxTTL {
            throw ValidationError("\(flag) \(value) is not a TTL from 0 to \(Self.maxTTL) seconds (a day)")
        }
        guard (1...Self.maxCacheSize).contains(cacheSize) else {
            throw ValidationError("--cache-size \(cacheSize) is not a count from 1 to \(Self.maxCacheSize)")
        }
        guard let bytes = Self.parseSize(cacheMemory) else {
            throw ValidationError("--cache-memory \(cacheMemory) is not a size (like 64MiB, 1GiB, 1048576)")
        }
        guard Self.cacheMemoryRange.contains(bytes) else {
            throw ValidationError("--cache-memory \(cacheMemory) is out of range (64KiB to 64GiB)")
        }
        if lameduck != "0" {
            guard let period = HealthCheckOverrides.parseDuration(lameduck) else {
                throw ValidationError("--lameduck \(lameduck) is not 0 or a duration (like 500ms, 5s, 1m)")
            }
            if let reason = HealthCheckOverrides.outOfRange(period, Self.lameduckRange, text: lameduck) {
                throw ValidationError("--lameduck \(reason)")
            }
        }
        for (flag, text, range) in [
            ("--serve-stale", serveStale, Self.serveStaleRange), ("--cache-servfail", cacheServfail, Self.cacheServfailRange),
        ] {
            guard let seconds = Self.parseSeconds(text) else {
                throw ValidationError("\(flag) \(text) is not 0 or a duration in whole seconds (like 30s, 5m, 1h, 1d)")
            }
            guard seconds == 0 || range.contains(seconds) else {
                throw ValidationError("\(flag) \(text) is out of range (0, or \(range.lowerBound)s to \(range.upperBound)s)")
            }
        }
        guard QueryLog.Mode(rawValue: queryLog) != nil else {
            throw ValidationError("--query-log \(queryLog) is not one of off, all, denial, error")
        }
        guard QueryLog.sampleRange.contains(queryLogSample) else {
            throw ValidationError("--query-log-sample \(queryLogSample) is not a count from 1 to \(QueryLog.sampleRange.upperBound)")
        }
        guard QueryLog.queueSizeRange.contains(queryLogQueue) else {
            throw ValidationError(
                "--query-log-queue \(queryLogQueue) is not a count from \(QueryLog.queueSizeRange.lowerBound) to \(QueryLog.queueSizeRange.upperBound)")
        }
        guard (0...Self.maxPrefetch).contains(prefetch) else {
            throw ValidationError("--prefetch \(prefetch) is not a count from 0 (off) to \(Self.maxPrefetch)")
        }
        guard (0...Self.maxMaxAnswers).contains(maxAnswers) else {
            throw ValidationError("--max-answers \(maxAnswers) is not a count from 0 (all) to \(Self.maxMaxAnswers)")
        }
        for (flag, count) in [("--health-fall", healthFall), ("--health-rise", healthRise)] where !(1...100).contains(count) {
            throw ValidationError("\(flag) \(count) is not a count from 1 to 100")
        }
        guard RotationMode(rawValue: rotate) != nil else {
            throw ValidationError("--rotate \(rotate) is not one of round-robin, random, none")
        }
        guard (0...100).contains(panicThreshold) else {
            throw ValidationError("--panic-threshold \(panicThreshold) is not a percentage from 0 to 100")
        }
        guard autopath.count <= ClientZones.maxEntries else {
            throw ValidationError("--autopath given \(autopath.count) times, at most \(ClientZones.maxEntries)")
        }
        guard clientZone.count <= ClientZones.maxEntries else {
            throw ValidationError("--client-zone given \(clientZone.count) times, at most \(ClientZones.maxEntries)")
        }
        for value in clientZone where ClientZones.parse(value) == nil {
            throw ValidationError("--client-zone \(value) is not CIDR=ZONE (ZONE: 1 to 63 letters, digits, '-' or '_')")
        }
        guard transferTo.count <= Self.maxTransferRanges else {
            throw ValidationError("--transfer-to given \(transferTo.count) times, at most \(Self.maxTransferRanges)")
        }
        guard notify.count <= Self.maxNotifyTargets else {
            throw ValidationError("--notify given \(notify.count) times, at most \(Self.maxNotifyTargets)")
        }
        for value in notify where Upstream(value) == nil {
            throw ValidationError("--notify \(value) is not ADDR[:PORT] or [IPv6]:PORT")
        }
        guard (0...Self.maxTransferJournal).contains(transferJournal) else {
            throw ValidationError("--transfer-journal \(transferJournal) is not a count from 0 to \(Self.maxTransferJournal)")
        }
        guard TransferPolicy.maxConcurrentRange.contains(maxTransfers) else {
            let range = TransferPolicy.maxConcurrentRange
            throw ValidationError("--max-transfers \(maxTransfers) is not a count from \(range.lowerBound) to \(range.upperBound)")
        }
        guard PodRecordMode(rawValue: pods) != nil else {
            throw ValidationError("--pods \(pods) is not one of insecure, verified, disabled")
        }
        if let udpWorkers, !(1...256).contains(udpWorkers) {
            throw ValidationError("--udp-workers \(udpWorkers) is not a count from 1 to 256")
        }
        try validateRateLimit()
        if upstream.contains("none") && upstream.count > 1 {
            throw ValidationError("--upstream none cannot be combined with upstream addresses")
        }
        for value in upstream where value != "none" && Upstream(value) == nil {
            throw ValidationError("--upstream \(value) is not ADDR[:PORT] or [IPv6]:PORT")
        }
        _ = try parsedStubDomains()
        for cidr in allowRecursion + serviceCidr + autopath + transferTo where IPNetwork(cidr) == nil {
            throw ValidationError("\(cidr) is not an address range like 10.0.0.0/8 or fc00::/7")
        }
        if let tcpMaxConnections, tcpMaxConnections < 1 {
            throw ValidationError("--tcp-max-connections \(tcpMaxConnections) must be at least 1")
        }
        if let tcpMaxConnectionsPerClient, tcpMaxConnectionsPerClient < 1 || tcpMaxConnectionsPerClient > (tcpMaxConnections ?? 65536) {
            throw ValidationError(
                "--tcp-max-connections-per-client \(tcpMaxConnectionsPerClient) is not from 1 to --tcp-max-connections")
        }
        for (flag, value, range) in [
            ("--tcp-max-in-flight", tcpMaxInFlight, 1...1000), ("--tcp-max-queued-bytes", tcpMaxQueuedBytes, 65537...(64 << 20)),
            ("--tcp-defer-accept", tcpDeferAccept, 0...60),
            ("--http-max-connections", httpMaxConnections, 1...65536), ("--http-max-header-bytes", httpMaxHeaderBytes, 1024...(1 << 20)),
        ] where !range.contains(value) {
            throw ValidationError("\(flag) \(value) is not from \(range.lowerBound) to \(range.upperBound)")
        }
        // An empty token would turn authentication off without saying so.
        if let apiToken, apiToken.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--api-token is empty: give a token, or leave the option out to accept writes from loopback only")
        }
        if apiToken != nil && apiTokenFile != nil {
            throw ValidationError("--api-token and --api-token-file cannot be combined")
        }
    }

    /// The largest TTL a flag may give (`--ttl`, `--cache-max-ttl`): a day, as most resolvers cap TTLs lower still.
    static let maxTTL: UInt32 = 86400
    static let maxCacheSize = 10_000_000
    /// An answer has at most 65535 records of a section anyway.
    static let maxMaxAnswers = 65535
    static let cacheMemoryRange = (64 << 10)...(64 << 30)
    /// RFC 8767 §5 suggests keeping stale answers for one to three days; a week at most.
    static let serveStaleRange: ClosedRange<UInt32> = 1...(7 * 86400)
    /// CoreDNS's cache keeps SERVFAIL at most 5 minutes.
    static let cacheServfailRange: ClosedRange<UInt32> = 1...300
    static let maxPrefetch = 1_000_000

    /// Whole seconds from `0` or a duration (`30s`, `5m`, `1h`, `1d`); nil for anything else.
    static func parseSeconds(_ text: String) -> UInt32? {
        if text == "0" { return 0 }
        if text.hasSuffix("d"), let days = UInt32(text.dropLast()), days > 0, days <= 3650 { return days * 86400 }
        guard let duration = HealthCheckOverrides.parseDuration(text),
            duration.components.attoseconds == 0, duration.components.seconds <= Int64(UInt32.max)
        else { return nil }
        return UInt32(duration.components.seconds)
    }

    /// Bytes from `1048576`, `512KiB`, `64MiB` or `1GiB`; nil for anything else, or past `Int`'s range.
    static func parseSize(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 18, let value = Int(digits) else { return nil }
        let shift: Int
        switch text.dropFirst(digits.count) {
        case "": shift = 0
        case "KiB": shift = 10
        case "MiB": shift = 20
        case "GiB": shift = 30
        default: return nil
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : bytes
    }

    /// Longer than any load balancer's health-check interval takes to notice; short enough for a rollout.
    static let lameduckRange: ClosedRange<Duration> = .milliseconds(1) ... .seconds(300)
    static let upstreamTimeoutRange: ClosedRange<Duration> = .milliseconds(10) ... .seconds(60)
    static let reloadIntervalRange: ClosedRange<Duration> = .milliseconds(100) ... .seconds(3600)
    /// `--tcp-idle-timeout`, `--http-timeout`.
    static let connectionTimeoutRange: ClosedRange<Duration> = .milliseconds(100) ... .seconds(3600)

    func run() async throws {
        // Before anything starts: a token file that yields no token is a startup error, not an open API.
        let token = try resolvedAPIToken()
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "svcdns")
        // Before any socket is opened: every descriptor the TCP cap leaves is the others' (probes, forwarding,
        // etcd, the store, HTTP), so the cap is sized from the limit actually in force.
        let openFiles = FileDescriptorBudget.raiseOpenFileLimit()
        let maxTCPConnections = tcpMaxConnections ?? FileDescriptorBudget.defaultTCPConnections(openFileLimit: openFiles)
        guard maxTCPConnections <= FileDescriptorBudget.maxTCPConnections(openFileLimit: openFiles) else {
            print(
                "--tcp-max-connections \(maxTCPConnections) leaves too few file descriptors: the open-file limit is "
                    + "\(openFiles), and TCP may take at most half of it (\(FileDescriptorBudget.maxTCPConnections(openFileLimit: openFiles)))"
            )
            throw ExitCode(1)
        }
        // Checked here, not in `validate`, when the overall cap is the default sized from the open-file limit.
        if let tcpMaxConnectionsPerClient, tcpMaxConnectionsPerClient > maxTCPConnections {
            FileHandle.standardError.write(
                Data(
                    ("Error: --tcp-max-connections-per-client \(tcpMaxConnectionsPerClient) is more than "
                        + "--tcp-max-connections \(maxTCPConnections)\(tcpMaxConnections == nil ? ", its default here" : "")\n").utf8))
            throw ExitCode(1)
        }
        logger.info(
            "file descriptors", metadata: ["process.open_files": "\(openFiles)", "dns.tcp_max_connections": "\(maxTCPConnections)"]
        )
        // Before anything that counts: a counter made before the bootstrap would count nowhere.
        let metrics = Self.bootstrapMetrics()
        let domain = try registry.clusterDomain()
        let listen = (dnsAddresses.isEmpty ? ["127.0.0.1:1053"] : dnsAddresses).compactMap(ListenAddress.init)
        var folderState = FolderState()
        guard let contents = try registry.loadOrReport(into: &folderState) else {
            logger.error("not serving: the zones folder has problems", metadata: ["zones.directory": "\(registry.zones)"])
            throw ExitCode(1)
        }
        let forwarding = try forwardingPolicy(listen: listen, logger: logger)
        // ns.dns.<domain> answers with the addresses svcdns listens on, when they are specific ones.
        let nameServers = listen.compactMap { IPAddress($0.host) }.filter { $0 != IPAddress("0.0.0.0") && $0 != IPAddress("::") }
        let configuration = ServeApplication.Configuration(
            zones: registry.zones, domain: domain, folder: contents, folderState: folderState,
            reloadInterval: HealthCheckOverrides.parseDuration(reloadInterval)!, store: store, apiToken: token,
            cluster: ClusterSettings(
                domain: domain, ttl: ttl, negativeTTL: negativeTtl, nameServerAddresses: nameServers, failOpen: !noFailOpen,
                rotation: RotationMode(rawValue: rotate)!, maxAnswers: maxAnswers,
                forwardsUnknownReverseNames: forwarding != nil, serviceNetworks: serviceCidr.compactMap(IPNetwork.init),
                exposure: try registry.exposure(), podRecords: PodRecordMode(rawValue: pods)!,
                endpointPodNames: endpointPodNames, panicThreshold: panicThreshold
            ),
            health: HealthDefaults(
                interval: HealthCheckOverrides.parseDuration(healthInterval)!,
                timeout: HealthCheckOverrides.parseDuration(healthTimeout)!, fall: healthFall, rise: healthRise
            ),
            forwarding: forwarding, loopProbe: loopProbe, autopath: autopath.compactMap(IPNetwork.init),
            clientZones: ClientZones(clientZone.compactMap(ClientZones.parse), subnetSources: recursionClients),
            transferTo: transferTo.compactMap(IPNetwork.init), notify: notify.compactMap(Upstream.init),
            transferJournal: transferJournal, maxTransfers: maxTransfers,
            dns: DNSServerConfiguration(
                addresses: listen, tcpIdleTimeout: TimeAmount(HealthCheckOverrides.parseDuration(tcpIdleTimeout)!),
                maxTCPConnections: maxTCPConnections, maxTCPConnectionsPerClient: tcpMaxConnectionsPerClient,
                tcpLimits: TCPConnectionLimits(maxQueriesInFlight: tcpMaxInFlight, maxQueuedAnswerBytes: tcpMaxQueuedBytes),
                tcpDeferAccept: .seconds(Int64(tcpDeferAccept)),
                udpWorkers: udpWorkers ?? DNSServerConfiguration.defaultUDPWorkers, rateLimit: rateLimit,
                queryLog: queryLog == "off"
                    ? nil : QueryLog(mode: QueryLog.Mode(rawValue: queryLog)!, sample: queryLogSample, queueSize: queryLogQueue)
            ),
            http: ListenAddress(httpAddress)!,
            httpLimits: ControlServer.Limits(
                maxConnections: httpMaxConnections, timeout: TimeAmount(HealthCheckOverrides.parseDuration(httpTimeout)!),
                maxHeaderBytes: httpMaxHeaderBytes
            ),
            lameduck: lameduck == "0" ? .zero : HealthCheckOverrides.parseDuration(lameduck)!
        )
        let application = try await ServeApplication(configuration: configuration, metrics: metrics, logger: logger)
        try await application.run()
    }

    /// `--rrl-rate`, `--rrl-slip`, `--rrl-table-size` in range.
    private func validateRateLimit() throws {
        guard rrlRate == 0 || ResponseRateLimit.rates.contains(rrlRate) else {
            throw ValidationError("--rrl-rate \(rrlRate) is not 0 (off) or a rate from 1 to \(ResponseRateLimit.rates.upperBound)")
        }
        guard ResponseRateLimit.slips.contains(rrlSlip) else {
            throw ValidationError("--rrl-slip \(rrlSlip) is not a count from 0 to \(ResponseRateLimit.slips.upperBound)")
        }
        guard ResponseRateLimit.tableSizes.contains(rrlTableSize) else {
            throw ValidationError(
                "--rrl-table-size \(rrlTableSize) is not a count from 1 to \(ResponseRateLimit.tableSizes.upperBound)")
        }
    }

    /// Response rate limiting as the flags set it; nil when `--rrl-rate` is 0.
    private var rateLimit: ResponseRateLimit? {
        rrlRate == 0 ? nil : ResponseRateLimit(rate: rrlRate, slip: rrlSlip, tableSize: rrlTableSize)
    }

    /// `--api-token`, or the first line of `--api-token-file`; nil when neither is given.
    private func resolvedAPIToken() throws -> String? {
        if let apiToken { return apiToken }
        guard let apiTokenFile else { return nil }
        guard let text = try? String(contentsOfFile: apiTokenFile, encoding: .utf8),
            let line = text.split(separator: "\n").first.map({ $0.trimmingCharacters(in: .whitespaces) }), !line.isEmpty
        else {
            throw ValidationError(
                "--api-token-file \(apiTokenFile) cannot be read or is empty: an empty token would turn authentication off"
            )
        }
        return line
    }
}
