import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The HTTP side of svcdns (`--http`): `GET /healthz` (the process is alive), `GET /readyz` (ready for
/// traffic: 200, else 503) and `GET /metrics` (Prometheus text format); everything else is 404.
public struct ControlServer: Service {
    public let host: String
    public let port: Int
    private let group: any EventLoopGroup
    private let logger: Logger
    private let endpoints: Endpoints

    /// What the endpoints report, supplied by the wiring so this module knows neither the DNS server nor
    /// the metrics backend.
    public struct Endpoints: Sendable {
        public var isReady: @Sendable () -> Bool
        public var metrics: @Sendable () -> [UInt8]

        public init(isReady: @escaping @Sendable () -> Bool = { true }, metrics: @escaping @Sendable () -> [UInt8] = { [] }) {
            self.isReady = isReady
            self.metrics = metrics
        }
    }

    public init(host: String, port: Int, group: any EventLoopGroup, logger: Logger, endpoints: Endpoints = Endpoints()) {
        self.host = host
        self.port = port
        self.group = group
        self.logger = logger
        self.endpoints = endpoints
    }

    public func run() async throws {
        let channel = try await bind()
        logger.info("serving HTTP", metadata: ["listen.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        try? await gracefulShutdown()
        try? await channel.close()
    }

    /// Binds and serves; the caller closes the returned channel.
    public func bind() async throws -> any Channel {
        let endpoints = self.endpoints
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ControlHandler(endpoints: endpoints))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

/// Answers one request at a time on a connection.
private final class ControlHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private let endpoints: ControlServer.Endpoints

    init(endpoints: ControlServer.Endpoints) {
        self.endpoints = endpoints
    }

    private func route(_ method: HTTPMethod, _ path: String) -> (HTTPResponseStatus, String, [UInt8]) {
        guard method == .GET else { return (.notFound, "text/plain; charset=utf-8", Array("not found\n".utf8)) }
        switch path {
        case "/healthz":
            return (.ok, "text/plain; charset=utf-8", Array("ok\n".utf8))
        case "/readyz":
            return endpoints.isReady()
                ? (.ok, "text/plain; charset=utf-8", Array("ready\n".utf8))
                : (.serviceUnavailable, "text/plain; charset=utf-8", Array("not ready\n".utf8))
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", endpoints.metrics())
        default:
            return (.notFound, "text/plain; charset=utf-8", Array("not found\n".utf8))
        }
    }

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
            let (status, contentType, body) = route(request.method, path)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.count))
            let response = HTTPResponseHead(version: request.version, status: status, headers: headers)
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
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
extension ControlHandler: Sendable {}
