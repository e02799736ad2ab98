// LoopbackServers: real TCP listeners and a tiny HTTP server on 127/8 addresses, for probes to find.

import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Opens a TCP listener that accepts connections and never answers. Port 0 picks a free port.
func openTCPListener(host: String, port: Int = 0, group: any EventLoopGroup) async throws -> any Channel {
    try await ServerBootstrap(group: group)
        // So that the port can be bound again at once after the listener closes.
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .bind(host: host, port: port)
        .get()
}

/// What a `StatusServer` answers, and what it was last asked.
struct StatusServerState: Sendable {
    var status: HTTPResponseStatus
    var lastRequest: HTTPRequestHead? = nil
}

/// An HTTP/1.1 server answering every request with the status the test sets, and keeping the last request.
final class StatusServer: Sendable {
    let channel: any Channel
    private let state: NIOLockedValueBox<StatusServerState>

    var port: Int { channel.localAddress!.port! }

    var status: HTTPResponseStatus {
        get { state.withLockedValue { $0.status } }
        set { state.withLockedValue { $0.status = newValue } }
    }

    var lastRequest: HTTPRequestHead? { state.withLockedValue { $0.lastRequest } }

    private init(channel: any Channel, state: NIOLockedValueBox<StatusServerState>) {
        self.channel = channel
        self.state = state
    }

    static func start(
        host: String, status: HTTPResponseStatus, group: any EventLoopGroup
    ) async throws -> StatusServer {
        let state = NIOLockedValueBox(StatusServerState(status: status))
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StatusHandler(state: state))
                }
            }
            .bind(host: host, port: 0)
            .get()
        return StatusServer(channel: channel, state: state)
    }

    func close() async throws {
        try await channel.close()
    }
}

private final class StatusHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: NIOLockedValueBox<StatusServerState>

    init(state: NIOLockedValueBox<StatusServerState>) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            state.withLockedValue { $0.lastRequest = head }
        case .body:
            break
        case .end:
            let status = state.withLockedValue { $0.status }
            let head = HTTPResponseHead(
                version: .http1_1, status: status, headers: ["Content-Length": "0", "Connection": "close"]
            )
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
