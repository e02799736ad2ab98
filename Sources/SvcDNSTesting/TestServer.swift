import Authority
import Logging
import NIOCore
import NIOPosix
import Server

/// A running in-process DNS server on a free loopback port, UDP and TCP.
public struct TestServer: Sendable {
    public let port: Int
    public let snapshots: SnapshotStore

    /// Sends a query over UDP and decodes the reply with libldns.
    public func udp(_ message: [UInt8], timeout: Double = 2) throws -> DecodedResponse? {
        try TestClient.udp(message, port: port, timeout: timeout).map(LDNS.decode)
    }

    /// Sends a query over a new TCP connection and decodes the reply with libldns.
    public func tcp(_ message: [UInt8], timeout: Double = 2) throws -> DecodedResponse? {
        try TestClient.tcp(message, port: port, timeout: timeout).map(LDNS.decode)
    }
}

/// Runs `body` against a server answering from `snapshot` on 127.0.0.1 (a free port), and stops the
/// server afterwards, also when `body` throws.
public func withTestServer<T>(
    _ snapshot: Snapshot, tcpIdleTimeout: TimeAmount = .seconds(10), maxTCPConnections: Int = 1024,
    tcpDeferAccept: TimeAmount = DNSServerConfiguration.defaultTCPDeferAccept,
    _ body: (TestServer) async throws -> T
) async throws -> T {
    let snapshots = SnapshotStore(snapshot)
    let server = DNSServer(
        configuration: DNSServerConfiguration(
            addresses: [ListenAddress(host: "127.0.0.1", port: 0)], tcpIdleTimeout: tcpIdleTimeout,
            // Every test client connects from 127.0.0.1: one client, which may use the whole cap.
            maxTCPConnections: maxTCPConnections, maxTCPConnectionsPerClient: maxTCPConnections,
            tcpDeferAccept: tcpDeferAccept
        ),
        pipeline: QueryPipeline(resolver: QueryResolver(snapshots: snapshots)),
        group: MultiThreadedEventLoopGroup.singleton,
        logger: Logger(label: "svcdns.test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    let listeners = try await server.bind()
    do {
        let result = try await body(TestServer(port: listeners.localAddresses[0].port!, snapshots: snapshots))
        await listeners.close()
        return result
    } catch {
        await listeners.close()
        throw error
    }
}
