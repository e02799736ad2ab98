import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// How the DNS listeners behave, apart from what they answer.
public struct DNSServerConfiguration: Sendable {
    /// Each address is served on UDP and TCP, on the same port.
    public var addresses: [ListenAddress]
    /// RFC 7766 §6.2.3 leaves the idle timeout to the server; a few seconds is what resolvers expect.
    /// A connection is idle when nothing moved in either direction; one whose client does not read its
    /// answers is closed after as long (`--tcp-idle-timeout`).
    public var tcpIdleTimeout: TimeAmount
    /// Open connections at most (`--tcp-max-connections`): at the cap, a new connection closes the one quiet
    /// the longest.
    public var maxTCPConnections: Int
    /// Open connections of one client (an IPv4 address or IPv6 /64) at most (`--tcp-max-connections-per-client`):
    /// at this cap, a client's new connection closes its own connection quiet the longest. A tenth of
    /// `maxTCPConnections` unless set.
    public var maxTCPConnectionsPerClient: Int
    /// Queries in flight and answers queued per connection (`--tcp-max-in-flight`, `--tcp-max-queued-bytes`).
    public var tcpLimits: TCPConnectionLimits
    /// A connection is handed over by the kernel once its first bytes arrive, or when this has passed
    /// (`--tcp-defer-accept`, Linux's `TCP_DEFER_ACCEPT`, in whole seconds; zero takes every connection at once).
    /// A DNS client sends its query as soon as it connects; connections held open without a byte then wait in
    /// the kernel's handshake queue instead of the accept queue. Without it, a client holding more idle
    /// connections than the caps and the backlog, and opening each again as it was closed, kept the accept
    /// queue full, so that every other client's SYN was dropped (`scripts/attack`'s idle-tcp).
    public var tcpDeferAccept: TimeAmount
    /// Threads answering UDP per address, each with its own socket on the same port (`--udp-workers`).
    public var udpWorkers: Int
    /// Response rate limiting of UDP answers (`--rrl-rate`); nil, the default, is off. TCP is never limited.
    public var rateLimit: ResponseRateLimit?
    /// `--query-log`: where answered queries are logged; nil: nowhere.
    public var queryLog: QueryLog?

    public init(
        addresses: [ListenAddress], tcpIdleTimeout: TimeAmount = .seconds(10), maxTCPConnections: Int = 1024,
        maxTCPConnectionsPerClient: Int? = nil, tcpLimits: TCPConnectionLimits = .init(),
        tcpDeferAccept: TimeAmount = DNSServerConfiguration.defaultTCPDeferAccept,
        udpWorkers: Int = DNSServerConfiguration.defaultUDPWorkers, rateLimit: ResponseRateLimit? = nil,
        queryLog: QueryLog? = nil
    ) {
        self.queryLog = queryLog
        self.addresses = addresses
        self.tcpIdleTimeout = tcpIdleTimeout
        self.maxTCPConnections = maxTCPConnections
        self.maxTCPConnectionsPerClient = maxTCPConnectionsPerClient ?? max(maxTCPConnections / 10, 1)
        self.tcpLimits = tcpLimits
        self.tcpDeferAccept = tcpDeferAccept
        self.udpWorkers = max(udpWorkers, 1)
        self.rateLimit = rateLimit
    }

    /// Long enough that an idle connection costs a flood its reconnection rate many times over, short enough
    /// that a client opening its connection before it has a query waits only seconds (then the idle timeout
    /// counts).
    public static let defaultTCPDeferAccept = TimeAmount.seconds(5)

    /// One UDP worker per CPU this process may run on: `taskset -c 0` (as `scripts/bench` runs servers)
    /// gives one, since more threads than CPUs would only take turns on them. A cgroup CPU quota lowers it too.
    public static var defaultUDPWorkers: Int {
        min(LinuxCalls.allowedCPUs() ?? System.coreCount, System.coreCount)
    }
}

/// What one TCP connection may hold (RFC 7766 §6.2.3); exceeding it costs that connection only.
public struct TCPConnectionLimits: Sendable, Equatable {
    /// Queries taken and not yet answered; past it the connection is not read until one is answered.
    /// RFC 7766 §6.2.1.2 asks for concurrent processing of pipelined queries; 64 keeps one client's share
    /// of the forwarder's 1000 questions small.
    public var maxQueriesInFlight: Int
    /// Bytes of answers not yet taken by the client; a connection whose forwarded answers would go past
    /// it is closed. At least one answer of the largest size (`--tcp-max-queued-bytes` starts there), so
    /// that an empty queue always takes a query.
    public var maxQueuedAnswerBytes: Int

    public init(maxQueriesInFlight: Int = 64, maxQueuedAnswerBytes: Int = 256 * 1024) {
        self.maxQueriesInFlight = maxQueriesInFlight
        self.maxQueuedAnswerBytes = max(maxQueuedAnswerBytes, TCPConnectionStateMachine.largestAnswer)
    }
}

/// The DNS listeners: UDP and TCP on every configured address, answering through one `QueryPipeline`.
///
/// UDP is served by `UDPWorker` threads on plain sockets (batched reads and writes, nothing allocated
/// per datagram by the transport); TCP by SwiftNIO, whose event loops also carry forwarded queries.
public struct DNSServer: Service {
    public let configuration: DNSServerConfiguration
    public let pipeline: QueryPipeline
    private let group: any EventLoopGroup
    private let logger: Logger
    private let readiness: Readiness?

    public init(
        configuration: DNSServerConfiguration, pipeline: QueryPipeline, group: any EventLoopGroup, logger: Logger,
        readiness: Readiness? = nil
    ) {
        self.configuration = configuration
        self.pipeline = pipeline
        self.group = group
        self.logger = logger
        self.readiness = readiness
    }

    /// TCP connections svcdns closed for a bound, by `reason`: `cap` (quiet the longest when a new connection
    /// came at `--tcp-max-connections`), `idle`
    /// (nothing moved either way), `unwritable` (the client did not read its answers), `queue` (answers
    /// past `--tcp-max-queued-bytes`).
    public static let closedConnectionsLabel = "svcdns_dns_tcp_connections_closed_total"

    /// Binds every listener, then serves until graceful shutdown, then closes them.
    public func run() async throws {
        let listeners = try await bind()
        for address in listeners.localAddresses {
            logger.info(
                "serving DNS",
                metadata: [
                    "listen.address": "\(address)", "dns.transport": "udp+tcp",
                    "dns.udp_workers": "\(configuration.udpWorkers)",
                ]
            )
        }
        readiness?.markListening()
        try? await gracefulShutdown()
        readiness?.markStopping()
        await listeners.close()
    }

    /// Binds UDP and TCP on every address and returns them serving. Port 0 picks a free port, the same
    /// one for both transports (tried a few times, as the TCP port may be taken while the UDP one is free).
    public func bind() async throws -> DNSListeners {
        var channels: [any Channel] = []
        var workers: [UDPWorker] = []
        var localAddresses: [SocketAddress] = []
        do {
            let limiter = ConnectionLimiter(
                limit: configuration.maxTCPConnections, perClientLimit: configuration.maxTCPConnectionsPerClient)
            // One table for every UDP socket of every address: a client counts once, whichever socket it hits.
            let rateLimiter = configuration.rateLimit.map(ResponseRateLimiter.init)
            for address in configuration.addresses {
                let server = "dns://\(address)"
                let (sockets, tcp) = try await bindPair(address, limiter: limiter, server: server)
                channels.append(tcp)
                localAddresses.append(sockets[0].localAddress)
                for socket in sockets {
                    // Listed before it starts: should anything below fail, closing the listeners closes
                    // this socket too (joining a worker that never started just closes its socket).
                    let worker = UDPWorker(
                        socket: socket, pipeline: pipeline, forwardLoops: group, limiter: rateLimiter,
                        queryLog: configuration.queryLog, server: server, index: workers.count
                    )
                    workers.append(worker)
                    try worker.start()
                }
            }
        } catch {
            await DNSListeners(channels: channels, udpWorkers: workers, localAddresses: localAddresses).close()
            throw error
        }
        return DNSListeners(channels: channels, udpWorkers: workers, localAddresses: localAddresses)
    }

    private func bindPair(
        _ address: ListenAddress, limiter: ConnectionLimiter, server: String
    ) async throws -> ([DatagramSocket], any Channel) {
        let attempts = address.port == 0 ? 10 : 1
        var lastError: (any Error)? = nil
        for _ in 0..<attempts {
            let sockets = try bindUDP(address)
            do {
                let port = sockets[0].localAddress.port ?? address.port
                let tcp = try await bindTCP(host: address.host, port: port, limiter: limiter, server: server)
                return (sockets, tcp)
            } catch {
                lastError = error
                for socket in sockets { socket.close() }
            }
        }
        throw lastError!
    }

    /// One socket per UDP worker, all on one port: with port 0 the first socket picks it and the others
    /// join it (SO_REUSEPORT). A single worker's socket is bound exclusively.
    private func bindUDP(_ address: ListenAddress) throws -> [DatagramSocket] {
        let shared = configuration.udpWorkers > 1
        let first = try DatagramSocket(
            binding: try SocketAddress.makeAddressResolvingHost(address.host, port: address.port), shared: shared
        )
        var sockets = [first]
        do {
            let port = first.localAddress.port ?? address.port
            let joined = try SocketAddress.makeAddressResolvingHost(address.host, port: port)
            for _ in 1..<configuration.udpWorkers {
                sockets.append(try DatagramSocket(binding: joined, shared: true))
            }
        } catch {
            for socket in sockets { socket.close() }
            throw error
        }
        return sockets
    }

    private func bindTCP(host: String, port: Int, limiter: ConnectionLimiter, server: String) async throws -> any Channel {
        let pipeline = self.pipeline
        let idleTimeout = configuration.tcpIdleTimeout
        let limits = configuration.tcpLimits
        let queryLog = configuration.queryLog
        // Made once: under a reconnection flood a connection is closed for a cap thousands of times a second.
        let capClosed = Dictionary(
            uniqueKeysWithValues: [ConnectionLimiter.CapReason.all, .client].map { reason in
                (reason, Counter(label: Self.closedConnectionsLabel, dimensions: [("server", server), ("reason", reason.rawValue)]))
            })
        var bootstrap = ServerBootstrap(group: group)
        let deferSeconds = (configuration.tcpDeferAccept.nanoseconds + 999_999_999) / 1_000_000_000
        if deferSeconds > 0 {
            bootstrap = bootstrap.serverChannelOption(
                .tcpOption(.init(rawValue: NIOBSDSocket.Option.RawValue(TCP_DEFER_ACCEPT))), value: SocketOptionValue(clamping: deferSeconds))
        }
        return try await bootstrap
            // Connections not yet accepted wait here: as many as may be open, so that a burst of reconnections
            // at the cap (256 overflowed under `scripts/attack`'s idle-tcp) does not drop a client's SYN and
            // cost it the kernel's 1-s retry. Linux caps the value at net.core.somaxconn.
            .serverChannelOption(.backlog, value: Int32(clamping: limiter.limit))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Accept more than NIO's default of 4 connections per wakeup, so that a flood of connections drains
            // from the backlog before it overflows.
            .serverChannelOption(.maxMessagesPerRead, value: 64)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // Unwritable past 64 KiB of unsent answers: from then on the connection takes no more queries.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 64 * 1024))
            // The kernel's queue of answers is bounded too: left to autotuning it grows to `tcp_wmem`'s
            // maximum (megabytes) for a client that does not read. Linux doubles the value for its bookkeeping.
            .childChannelOption(.socketOption(.so_sndbuf), value: 64 * 1024)
            .childChannelInitializer { channel in
                let activity = TCPConnectionActivity(channel: channel)
                if let (quietest, reason) = limiter.admit(activity) {
                    capClosed[reason]?.increment()
                    // Reset rather than closed in order: a connection closed for room would otherwise sit in
                    // TIME_WAIT here, thousands a second under a flood. An idle client loses nothing by it.
                    let idle = quietest.channel
                    if let socket = idle as? any SocketOptionProvider {
                        socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in idle.close(promise: nil) }
                    } else {
                        idle.close(promise: nil)
                    }
                }
                channel.closeFuture.whenComplete { _ in limiter.release(activity) }
                return channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                    try handlers.addHandler(
                        TCPQueryHandler(
                            pipeline: pipeline, server: server, idleTimeout: idleTimeout, limits: limits, activity: activity,
                            queryLog: queryLog
                        )
                    )
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

/// Bound, serving listeners. `close()` stops them.
public struct DNSListeners: Sendable {
    let channels: [any Channel]
    let udpWorkers: [UDPWorker]
    /// Where each configured address ended up (the real port when 0 was asked for); UDP and TCP share it.
    public let localAddresses: [SocketAddress]

    /// Stops the UDP workers (each within one receive timeout, at once when woken), closes their
    /// sockets once their threads have ended, then closes the TCP listeners.
    public func close() async {
        for worker in udpWorkers { worker.requestStop() }
        let workers = udpWorkers
        // Joining a thread blocks: done on NIO's thread pool, not on the cooperative pool.
        do {
            try await NIOThreadPool.singleton.runIfActive {
                for worker in workers { worker.join() }
            }
        } catch {
            for worker in workers { worker.join() }
        }
        for channel in channels {
            try? await channel.close()
        }
    }
}
