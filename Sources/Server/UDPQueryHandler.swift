import DNSMessage
import NIOCore

/// Answers each datagram with one datagram to its sender; flushes once per read burst.
final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let pipeline: QueryPipeline
    // Reused for every response on this loop, so answering allocates only the outgoing buffer.
    private var encoder = ResponseEncoder()
    private var output: [UInt8] = []
    private let metrics: DNSMetrics

    init(pipeline: QueryPipeline, server: String) {
        self.pipeline = pipeline
        self.metrics = DNSMetrics(server: server, proto: "udp")
        output.reserveCapacity(Int(ResponseEncoder.advertisedUDPPayloadSize))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let started = NIODeadline.now()
        let outcome = envelope.data.withUnsafeReadableBytes { bytes in
            pipeline.respond(to: bytes, overTCP: false, client: envelope.remoteAddress, encoder: &encoder, into: &output)
        }
        switch outcome {
        case .answered(let type):
            send(to: envelope.remoteAddress, context: context)
            metrics.record(type: type, family: DNSMetrics.family(of: envelope.remoteAddress), response: output, started: started)
        case .dropped:
            return
        case .forward(let query, let request):
            // Answered when the upstream is; this loop goes on reading meanwhile.
            pipeline.forward(request, overTCP: false, on: context.eventLoop).assumeIsolated().whenSuccess { response in
                self.pipeline.encode(response, to: query, overTCP: false, encoder: &self.encoder, into: &self.output)
                self.send(to: envelope.remoteAddress, context: context)
                context.flush()
                self.metrics.record(
                    type: query.type, family: DNSMetrics.family(of: envelope.remoteAddress), response: self.output, started: started
                )
            }
        }
    }

    private func send(to client: SocketAddress, context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(bytes: output)
        context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: client, data: buffer)), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    /// A UDP socket reports errors such as ICMP port-unreachable from an earlier reply; they concern one
    /// client, so the socket stays open for everyone else.
    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}

@available(*, unavailable)
extension UDPQueryHandler: Sendable {}
