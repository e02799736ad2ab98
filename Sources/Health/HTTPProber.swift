// HTTPProber: one HTTP/1.1 GET of an endpoint's health path; a 2xx or 3xx status means healthy.

import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceModel

/// Probes with `GET <path> HTTP/1.1` and `Connection: close`, reading only the status line and headers.
struct HTTPProber: Prober {
    func probe(
        _ target: ProbeTarget, on eventLoop: any EventLoop, cancellation: ProbeCancellation
    ) -> EventLoopFuture<ProbeResult> {
        guard case .http(let path) = target.kind else {
            preconditionFailure("HTTPProber given a \(target.kind) target")
        }
        let address: SocketAddress
        do {
            address = try SocketAddress(target)
        } catch {
            return eventLoop.makeSucceededFuture(.unhealthy(reason: "\(error)"))
        }
        let timeout = target.timeout
        let promise = eventLoop.makePromise(of: ProbeResult.self)
        // The connect timeout bounds only the connect: a server that accepts and never answers would hold the
        // probe's slot forever, so one deadline covers connect, request and response. Whichever of the deadline,
        // the response, an error or the close comes first decides; NIO ignores later completions of a promise.
        let deadline = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
            promise.succeed(.unhealthy(reason: ProbeFailure.timedOut(after: timeout)))
            cancellation.cancel()
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }

        let request = HTTPRequestHead(
            version: .http1_1,
            method: .GET,
            uri: path,
            headers: [
                "Host": Self.hostHeader(target),
                "Connection": "close",
                "User-Agent": "svcdns-health",
            ]
        )
        let boundCancellation = NIOLoopBound(cancellation, eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                boundCancellation.value.attach(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHTTPClientHandlers()
                    try handlers.addHandler(HTTPProbeHandler(request: request, timeout: timeout, promise: promise))
                }
            }
            .connect(to: address)
            .whenFailure { error in
                promise.succeed(.unhealthy(reason: ProbeFailure.reason(for: error, timeout: timeout)))
            }
        return promise.futureResult
    }

    /// `Host: address:port`, with IPv6 addresses in brackets (RFC 7230 §5.4, RFC 3986 §3.2.2).
    static func hostHeader(_ target: ProbeTarget) -> String {
        switch target.endpoint.address {
        case .v4: "\(target.endpoint.address):\(target.port)"
        case .v6: "[\(target.endpoint.address)]:\(target.port)"
        }
    }
}

/// Sends the request when connected and completes the probe from the response's status; loop-bound.
private final class HTTPProbeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: HTTPRequestHead
    private let timeout: Duration
    private let promise: EventLoopPromise<ProbeResult>

    init(request: HTTPRequestHead, timeout: Duration, promise: EventLoopPromise<ProbeResult>) {
        self.request = request
        self.timeout = timeout
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The status line decides; the body is not read, and closing now saves receiving it.
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let code = head.status.code
        promise.succeed((200..<400).contains(code) ? .healthy : .unhealthy(reason: "HTTP \(code)"))
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason: String
        if error is HTTPParserError {
            reason = "bad HTTP response: \(error)"
        } else {
            reason = ProbeFailure.reason(for: error, timeout: timeout)
        }
        promise.succeed(.unhealthy(reason: reason))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(.unhealthy(reason: "connection closed before a response"))
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension HTTPProbeHandler: Sendable {}
