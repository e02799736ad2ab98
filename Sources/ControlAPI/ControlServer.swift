import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The HTTP side of svcdns (`--http`). For now it answers `GET /healthz`, so supervisors and load
/// balancers can tell the process is alive; everything else is 404.
public struct ControlServer: Service {
    public let host: String
    public let port: Int
    private let group: any EventLoopGroup
    private let logger: Logger

    public init(host: String, port: Int, group: any EventLoopGroup, logger: Logger) {
        self.host = host
        self.port = port
        self.group = group
        self.logger = logger
    }

    public func run() async throws {
        let channel = try await bind()
        logger.info("serving HTTP", metadata: ["listen.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        try? await gracefulShutdown()
        try? await channel.close()
    }

    /// Binds and serves; the caller closes the returned channel.
    public func bind() async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HealthHandler())
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

/// Answers one request at a time on a connection: `GET /healthz` → 200 `ok`, anything else 404.
private final class HealthHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
            let found = request.method == .GET && path == "/healthz"
            let body = found ? "ok\n" : "not found\n"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            let response = HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers)
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            let keepAlive = request.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension HealthHandler: Sendable {}
