import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// How the DNS listeners behave, apart from what they answer.
public struct DNSServerConfiguration: Sendable {
    /// Each address is served on UDP and TCP, on the same port.
    public var addresses: [ListenAddress]
    /// RFC 7766 §6.2.3 leaves the idle timeout to the server; a few seconds is what resolvers expect.
    public var tcpIdleTimeout: TimeAmount
    /// Connections beyond this are closed as soon as they are accepted.
    public var maxTCPConnections: Int

    public init(addresses: [ListenAddress], tcpIdleTimeout: TimeAmount = .seconds(10), maxTCPConnections: Int = 1024) {
        self.addresses = addresses
        self.tcpIdleTimeout = tcpIdleTimeout
        self.maxTCPConnections = maxTCPConnections
    }
}

/// The DNS listeners: UDP and TCP on every configured address, answering through one `QueryPipeline`.
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

    static let datagramsPerRead = 16
    static let maxQuerySize = 4096

    /// Binds every listener, then serves until graceful shutdown, then closes them.
    public func run() async throws {
        let listeners = try await bind()
        for address in listeners.localAddresses {
            logger.info("serving DNS", metadata: ["listen.address": "\(address)", "dns.transport": "udp+tcp"])
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
        var localAddresses: [SocketAddress] = []
        do {
            let limiter = ConnectionLimiter(limit: configuration.maxTCPConnections)
            for address in configuration.addresses {
                let (udp, tcp) = try await bindPair(address, limiter: limiter, server: "dns://\(address)")
                channels += [udp, tcp]
                if let local = udp.localAddress { localAddresses.append(local) }
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        return DNSListeners(channels: channels, localAddresses: localAddresses)
    }

    private func bindPair(
        _ address: ListenAddress, limiter: ConnectionLimiter, server: String
    ) async throws -> (any Channel, any Channel) {
        let attempts = address.port == 0 ? 10 : 1
        var lastError: (any Error)? = nil
        for _ in 0..<attempts {
            let udp = try await bindUDP(host: address.host, port: address.port, server: server)
            do {
                let port = udp.localAddress?.port ?? address.port
                let tcp = try await bindTCP(host: address.host, port: port, limiter: limiter, server: server)
                return (udp, tcp)
            } catch {
                lastError = error
                try? await udp.close()
            }
        }
        throw lastError!
    }

    private func bindUDP(host: String, port: Int, server: String) async throws -> any Channel {
        let pipeline = self.pipeline
        return try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // Batched reads (recvmmsg) answer a burst of queries with one system call. NIO splits the
            // buffer evenly between the messages of a batch, so each datagram may be up to 4096 bytes:
            // more than any real query (a longer one is cut, and answered FORMERR).
            .channelOption(.datagramVectorReadMessageCount, value: Self.datagramsPerRead)
            .channelOption(
                .recvAllocator,
                value: FixedSizeRecvByteBufferAllocator(capacity: Self.datagramsPerRead * Self.maxQuerySize)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UDPQueryHandler(pipeline: pipeline, server: server))
                }
            }
            .bind(host: host, port: port)
            .get()
    }

    private func bindTCP(host: String, port: Int, limiter: ConnectionLimiter, server: String) async throws -> any Channel {
        let pipeline = self.pipeline
        let idleTimeout = configuration.tcpIdleTimeout
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                guard limiter.acquire() else {
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in limiter.release() }
                return channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try handlers.addHandler(ByteToMessageHandler(TCPFrameDecoder()))
                    try handlers.addHandler(TCPQueryHandler(pipeline: pipeline, server: server))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

/// Bound, serving listeners. `close()` stops them.
public struct DNSListeners: Sendable {
    let channels: [any Channel]
    /// Where each configured address ended up (the real port when 0 was asked for); UDP and TCP share it.
    public let localAddresses: [SocketAddress]

    public func close() async {
        for channel in channels {
            try? await channel.close()
        }
    }
}
