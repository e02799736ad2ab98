// ScriptedUpstream: a UDP upstream on loopback that answers at once, wrongly, or never, by the question's first label.

import DNSMessage
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An upstream for forwarding tests that need one that hangs or lies: a question whose first label starts with
/// `silent` is never answered (as a blackholed resolver would), one starting with `badaddress` gets an A record
/// of one byte, one starting with `otherclass` an A record of class CH, one starting with `servfail` gets SERVFAIL,
/// and any other gets one A record, 127.0.14.1, at once.
public final class ScriptedUpstream: Sendable {
    public let port: Int
    private let channel: any Channel
    private let queries: NIOLockedValueBox<Int>

    public init() async throws {
        let counter = NIOLockedValueBox(0)
        queries = counter
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Responder(counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    /// Questions received so far.
    public var queryCount: Int { queries.withLockedValue { $0 } }

    public func close() async { try? await channel.close() }

    private final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let counter: NIOLockedValueBox<Int>

        init(counter: NIOLockedValueBox<Int>) {
            self.counter = counter
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            counter.withLockedValue { $0 += 1 }
            guard let query = envelope.data.withUnsafeReadableBytes({ try? MessageDecoder.decodeQuery($0) }) else { return }
            guard !query.name.firstLabel.hasPrefix("silent") else { return }
            var bytes: [UInt8] = []
            let address: RData = query.name.firstLabel.hasPrefix("badaddress") ? .opaque([127]) : .a(IPv4Bytes(127, 0, 14, 1))
            let answer = RRSet(owner: query.name, type: .a, ttl: 60, rdata: [address])
            let response = query.name.firstLabel.hasPrefix("servfail")
                ? Response(rcode: .serverFailure, recursionAvailable: true)
                : Response(recursionAvailable: true, answer: [answer])
            ResponseEncoder.encode(.response(response, to: query), limit: 1232, into: &bytes)
            if query.name.firstLabel.hasPrefix("otherclass") {
                // The answer's class: after the header, the question, and the answer's owner (a 2-byte pointer) and type.
                let classOffset = 12 + query.name.wire.count + 4 + 2 + 2
                bytes[classOffset + 1] = 3
            }
            let reply = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: bytes))
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }
}
