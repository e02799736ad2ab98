import Locking
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A TCP listener on a loopback address that tests open, close and reopen to play a pod that comes and
/// goes. With `httpStatus` set it answers every HTTP request with that status (settable while it runs), after
/// `responseDelay` (a slow pod).
public final class TestListener: Sendable {
    public let host: String
    public let port: Int
    private let channel: Locked<(any Channel)?>
    private let status: NIOLockedValueBox<Int?>
    private let responseDelay: TimeAmount

    /// Binds `host:port` now (port 0 picks one). `httpStatus` nil: a plain TCP listener that accepts and closes.
    public init(host: String, port: Int = 0, httpStatus: Int? = nil, responseDelay: TimeAmount = .zero) async throws {
        self.host = host
        self.status = NIOLockedValueBox(httpStatus)
        self.responseDelay = responseDelay
        self.channel = Locked(nil)
        let bound = try await Self.bind(host: host, port: port, status: status, delay: responseDelay)
        self.port = bound.localAddress?.port ?? port
        channel.withLock { $0 = bound }
    }

    /// The status HTTP requests get from now on.
    public func setHTTPStatus(_ code: Int) {
        status.withLockedValue { $0 = code }
    }

    /// Stops listening: connects are refused.
    public func close() async {
        let current = channel.withLock { channel -> (any Channel)? in
            defer { channel = nil }
            return channel
        }
        try? await current?.close()
    }

    /// Listens again on the same address and port.
    public func reopen() async throws {
        let bound = try await Self.bind(host: host, port: port, status: status, delay: responseDelay)
        channel.withLock { $0 = bound }
    }

    private static func bind(
        host: String, port: Int, status: NIOLockedValueBox<Int?>, delay: TimeAmount
    ) async throws -> any Channel {
        let isHTTP = status.withLockedValue { $0 != nil }
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard isHTTP else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StatusResponder(status: status, delay: delay))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

/// Answers every request with the listener's current status and closes.
private final class StatusResponder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let status: NIOLockedValueBox<Int?>
    private let delay: TimeAmount

    init(status: NIOLockedValueBox<Int?>, delay: TimeAmount) {
        self.status = status
        self.delay = delay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        guard delay > .zero else { return respond(context: context) }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: delay) { self.respond(context: bound.value) }
    }

    private func respond(context: ChannelHandlerContext) {
        let code = status.withLockedValue { $0 } ?? 200
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "0")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: code), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
