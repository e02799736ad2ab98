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

    init(pipeline: QueryPipeline) {
        self.pipeline = pipeline
        output.reserveCapacity(Int(ResponseEncoder.advertisedUDPPayloadSize))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let answered = envelope.data.withUnsafeReadableBytes { bytes in
            pipeline.respond(to: bytes, overTCP: false, encoder: &encoder, into: &output)
        }
        guard answered else { return }
        let buffer = context.channel.allocator.buffer(bytes: output)
        context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)), promise: nil)
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
