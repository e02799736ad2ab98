import DNSMessage
import NIOCore

/// Answers each framed query on a connection, in order (RFC 7766 §6.2.1: several queries may arrive
/// before the first answer; answering synchronously keeps them in order). Closes an idle connection
/// and one whose client has finished sending, once its answers are written.
final class TCPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let pipeline: QueryPipeline
    private var encoder = ResponseEncoder()
    private var output: [UInt8] = []
    private let metrics: DNSMetrics

    init(pipeline: QueryPipeline, server: String) {
        self.pipeline = pipeline
        self.metrics = DNSMetrics(server: server, proto: "tcp")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request = unwrapInboundIn(data)
        let started = NIODeadline.now()
        let client = context.channel.remoteAddress
        let isIPv6 = client?.protocol == .inet6
        let outcome = request.withUnsafeReadableBytes { bytes in
            pipeline.respond(
                to: bytes, overTCP: true, client: client.flatMap(ForwardingPolicy.address), encoder: &encoder, into: &output
            )
        }
        switch outcome {
        case .answered(let type):
            send(context: context)
            metrics.record(type: type, isIPv6: isIPv6, response: output, started: started)
        case .dropped:
            return
        case .forward(let query, let request):
            // RFC 7766 §6.2.1.1: answers may go out of order; the client matches them by ID, so later
            // queries on this connection are not held up behind this one.
            pipeline.forward(request, overTCP: true, on: context.eventLoop).assumeIsolated().whenSuccess { response in
                self.pipeline.encode(response, to: query, overTCP: true, encoder: &self.encoder, into: &self.output)
                self.send(context: context)
                context.flush()
                self.metrics.record(type: query.type, isIPv6: isIPv6, response: self.output, started: started)
            }
        }
    }

    private func send(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: output.count + 2)
        buffer.writeInteger(UInt16(output.count))
        buffer.writeBytes(output)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let idle as IdleStateHandler.IdleStateEvent where idle == .read:
            // RFC 7766 §6.2.3: the server may close an idle connection.
            context.close(promise: nil)
        case let channelEvent as ChannelEvent where channelEvent == .inputClosed:
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)))
                .whenComplete { _ in context.close(promise: nil) }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension TCPQueryHandler: Sendable {}
