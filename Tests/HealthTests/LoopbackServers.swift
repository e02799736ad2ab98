// LoopbackServers: real TCP listeners and a tiny HTTP server on 127/8 addresses, for probes to find.

import Foundation
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

/// Opens a TCP listener that writes `reply` to each connection it accepts (nothing when empty) and closes it.
func openReplyingListener(host: String, reply: String, group: any EventLoopGroup) async throws -> any Channel {
    try await ServerBootstrap(group: group)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ReplyAndClose(reply: reply))
            }
        }
        .bind(host: host, port: 0)
        .get()
}

/// Writes its reply as soon as the connection is up, then closes it.
private final class ReplyAndClose: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let reply: String

    init(reply: String) {
        self.reply = reply
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(ByteBuffer(string: reply))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// The TCP connections to or from `host:port` in TIME_WAIT, from /proc/net/tcp (IPv4).
func timeWaitCount(host: String, port: Int) throws -> Int {
    let octets = host.split(separator: ".").compactMap { UInt32($0) }
    // /proc prints the address as the 32-bit word in memory (network order) read in host order.
    let word = octets.reversed().reduce(0) { $0 << 8 | $1 }
    let endpoint = String(format: "%08X:%04X", word, port)
    let table = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)
    return table.split(separator: "\n").dropFirst().filter { line in
        let fields = line.split(separator: " ")
        return fields.count > 3 && fields[3] == "06" && (fields[1] == endpoint || fields[2] == endpoint)
    }.count
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
