// The handlers without sockets: TCP framing through NIO's decoder verifier, and the UDP/TCP query
// handlers in an EmbeddedChannel (envelopes and frames in, one reply out, decoded by libldns).
import Authority
import NIOCore
import NIOEmbedded
import NIOTestUtils
import SvcDNSTesting
import Testing

@testable import Server

private func pipeline() throws -> QueryPipeline {
    QueryPipeline(resolver: QueryResolver(snapshots: SnapshotStore(try ServerFixture.snapshot())))
}

private func framed(_ message: [UInt8]) -> ByteBuffer {
    ByteBuffer(bytes: TestClient.frame(message))
}

@Suite("TCPFrameDecoder")
struct TCPFrameDecoderTests {
    @Test func verifierAcceptsWholeSplitAndCoalescedFrames() throws {
        let query = try LDNS.query(ServerFixture.web, "A", id: 1)
        let long = [UInt8](repeating: 0xAB, count: 300)  // length > 255: both prefix bytes matter
        let pairs: [(ByteBuffer, [ByteBuffer])] = [
            (framed(query), [ByteBuffer(bytes: query)]),
            (framed(long), [ByteBuffer(bytes: long)]),
            (framed([]), [ByteBuffer()]),
            (
                ByteBuffer(bytes: TestClient.frame([1, 2, 3]) + TestClient.frame([4, 5])),
                [ByteBuffer(bytes: [1, 2, 3]), ByteBuffer(bytes: [4, 5])]
            ),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs, decoderFactory: { TCPFrameDecoder() })
    }

    @Test func partialFrameAtEOFIsDiscarded() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(TCPFrameDecoder()))
        try channel.writeInbound(ByteBuffer(bytes: TestClient.frame([7, 7]) + [0, 10, 1, 2]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [7, 7]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        // finish() delivers EOF: decodeLast must drop the incomplete frame rather than report leftovers.
        #expect(try channel.finish().isClean)
    }
}

@Suite("UDPQueryHandler in an EmbeddedChannel")
struct UDPQueryHandlerTests {
    @Test func answersEachDatagramToItsSender() throws {
        let channel = EmbeddedChannel(handler: UDPQueryHandler(pipeline: try pipeline(), server: "dns://test"))
        defer { _ = try? channel.finish() }
        let peers = [
            try SocketAddress(ipAddress: "127.0.0.1", port: 40001),
            try SocketAddress(ipAddress: "127.0.0.2", port: 40002),
        ]
        for (index, peer) in peers.enumerated() {
            let query = try LDNS.query(ServerFixture.web, "A", id: UInt16(200 + index), udpSize: 1232)
            try channel.writeInbound(AddressedEnvelope(remoteAddress: peer, data: ByteBuffer(bytes: query)))
            let reply = try #require(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
            #expect(reply.remoteAddress == peer)
            let response = try LDNS.decode(Array(reply.data.readableBytesView))
            #expect(response.id == UInt16(200 + index))
            #expect(response.answer == [try LDNS.canonical(ServerFixture.webA)])
            #expect(response.edns?.udpSize == 1232)
            #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil, "exactly one reply")
        }
    }

    @Test func largeAnswerIsTruncatedAt512WithoutEDNS() throws {
        let channel = EmbeddedChannel(handler: UDPQueryHandler(pipeline: try pipeline(), server: "dns://test"))
        defer { _ = try? channel.finish() }
        let peer = try SocketAddress(ipAddress: "127.0.0.1", port: 40003)
        try channel.writeInbound(
            AddressedEnvelope(
                remoteAddress: peer, data: ByteBuffer(bytes: try LDNS.query(ServerFixture.big, "A", id: 9))))
        let reply = try #require(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
        #expect(reply.data.readableBytes <= 512)
        let response = try LDNS.decode(Array(reply.data.readableBytesView))
        #expect(response.truncated)
        #expect(response.answer.isEmpty)
    }

    @Test func droppedMessagesWriteNothingAndErrorsKeepTheChannelOpen() throws {
        let channel = EmbeddedChannel(handler: UDPQueryHandler(pipeline: try pipeline(), server: "dns://test"))
        defer { _ = try? channel.finish() }
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 53)).wait()  // makes it active
        #expect(channel.isActive)
        let peer = try SocketAddress(ipAddress: "127.0.0.1", port: 40004)
        try channel.writeInbound(AddressedEnvelope(remoteAddress: peer, data: ByteBuffer(bytes: [1, 2, 3])))
        var response = try LDNS.query(ServerFixture.web, "A", id: 10)
        response[2] |= 0x80  // QR: a response, never answered
        try channel.writeInbound(AddressedEnvelope(remoteAddress: peer, data: ByteBuffer(bytes: response)))
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil)
        // An ICMP error from an earlier reply concerns one client: the socket stays open.
        channel.pipeline.fireErrorCaught(IOError(errnoCode: 111, reason: "recvmsg"))
        #expect(channel.isActive)
        try channel.writeInbound(
            AddressedEnvelope(
                remoteAddress: peer, data: ByteBuffer(bytes: try LDNS.query(ServerFixture.web, "A", id: 11))))
        let reply = try #require(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
        #expect(try LDNS.decode(Array(reply.data.readableBytesView)).id == 11)
    }
}

@Suite("TCPQueryHandler in an EmbeddedChannel")
struct TCPQueryHandlerTests {
    /// The TCP child pipeline minus the idle timer: framing, then the query handler.
    private func connectedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handlers: [
            ByteToMessageHandler(TCPFrameDecoder()), TCPQueryHandler(pipeline: try pipeline(), server: "dns://test"),
        ])
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 40005)).wait()
        return channel
    }

    /// Reads one length-prefixed reply from the outbound side.
    private func readReply(_ channel: EmbeddedChannel) throws -> DecodedResponse? {
        guard var buffer = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
        let prefix = buffer.readInteger(as: UInt16.self)
        let length = try #require(prefix)
        #expect(Int(length) == buffer.readableBytes, "one frame per write")
        return try LDNS.decode(Array(buffer.readableBytesView))
    }

    @Test func framedQueriesInPiecesAreAnsweredInOrder() throws {
        let channel = try connectedChannel()
        defer { _ = try? channel.finish() }
        let bytes =
            try TestClient.frame(LDNS.query(ServerFixture.web, "A", id: 1))
            + TestClient.frame(LDNS.query(ServerFixture.big, "A", id: 2))
        // Split at awkward points: inside the first prefix, and across the frame boundary.
        for piece in [bytes[0..<1], bytes[1..<20], bytes[20..<(bytes.count - 3)], bytes[(bytes.count - 3)...]] {
            try channel.writeInbound(ByteBuffer(bytes: Array(piece)))
        }
        let first = try #require(try readReply(channel))
        #expect(first.id == 1)
        #expect(first.answer == [try LDNS.canonical(ServerFixture.webA)])
        let second = try #require(try readReply(channel))
        #expect(second.id == 2)
        #expect(!second.truncated)
        #expect(second.answer.count == ServerFixture.headlessCount)
        #expect(try readReply(channel) == nil)
    }

    @Test func malformedFrameGetsFORMERRAndTheConnectionStaysOpen() throws {
        let channel = try connectedChannel()
        defer { _ = try? channel.finish() }
        let bad = RawMessage.header(id: 0x0BAD) + RawMessage.question() + [0xFF]
        try channel.writeInbound(ByteBuffer(bytes: TestClient.frame(bad)))
        let response = try #require(try readReply(channel))
        #expect(response.id == 0x0BAD)
        #expect(response.rcodeName == "FORMERR")
        #expect(channel.isActive)
    }

    @Test func inputClosedFlushesAndCloses() throws {
        let channel = try connectedChannel()
        try channel.writeInbound(ByteBuffer(bytes: TestClient.frame(try LDNS.query(ServerFixture.web, "A", id: 3))))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        channel.embeddedEventLoop.run()
        #expect(try readReply(channel)?.id == 3)
        #expect(!channel.isActive, "the server closes once the client has finished and its answers are out")
    }

    @Test func readIdleEventCloses() throws {
        let channel = try connectedChannel()
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }
}
