// The TCP handlers without sockets: framing through NIO's decoder verifier, and the query handler in an
// EmbeddedChannel (frames in, one reply out, decoded by libldns). UDP has no NIO handler: see UDPWorkerTests.
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

@Suite("TCPQueryHandler in an EmbeddedChannel")
struct TCPQueryHandlerTests {
    /// The TCP child pipeline minus the idle timer: the query handler, which frames as it takes queries.
    private func connectedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handlers: [TCPQueryHandler(pipeline: try pipeline(), server: "dns://test")])
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

    @Test func idleInBothDirectionsCloses() throws {
        let channel = try connectedChannel()
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }

    @Test func readIdleAloneDoesNotClose() throws {
        // A client that only receives (a long answer, or many) is not idle: only nothing moving either way is.
        let channel = try connectedChannel()
        defer { _ = try? channel.finish() }
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        channel.embeddedEventLoop.run()
        #expect(channel.isActive)
    }
}

/// Counts the reads that get past the query handler to the socket.
private final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var reads = 0

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

@Suite("TCPQueryHandler backpressure (RFC 7766 §6.2.3)")
struct TCPBackpressureHandlerTests {
    private func connectedChannel(idleTimeout: TimeAmount = .seconds(10)) throws -> (EmbeddedChannel, ReadCounter) {
        let counter = ReadCounter()
        let channel = EmbeddedChannel(handlers: [
            counter, TCPQueryHandler(pipeline: try pipeline(), server: "dns://test", idleTimeout: idleTimeout),
        ])
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 40006)).wait()
        return (channel, counter)
    }

    private func replyIDs(_ channel: EmbeddedChannel) throws -> [UInt16] {
        var ids: [UInt16] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            _ = buffer.readInteger(as: UInt16.self)
            ids.append(try LDNS.decode(Array(buffer.readableBytesView)).id)
        }
        return ids
    }

    private func setWritable(_ channel: EmbeddedChannel, _ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    @Test func anUnwritableConnectionIsNeitherAnsweredNorReadUntilWritable() throws {
        let (channel, counter) = try connectedChannel()
        defer { _ = try? channel.finish() }
        setWritable(channel, false)
        let frames = try (1...3).flatMap { try TestClient.frame(LDNS.query(ServerFixture.web, "A", id: UInt16($0))) }
        try channel.writeInbound(ByteBuffer(bytes: frames))
        #expect(try replyIDs(channel) == [], "no answer is queued while the client does not read")
        let before = counter.reads
        channel.read()
        #expect(counter.reads == before, "the socket is not read while queries wait")

        setWritable(channel, true)
        #expect(try replyIDs(channel) == [1, 2, 3], "the waiting queries are answered in order")
        #expect(counter.reads == before + 1, "the held read goes on once they are")
        channel.read()
        #expect(counter.reads == before + 2)
    }

    @Test func aPartialQueryDoesNotHoldReads() throws {
        let (channel, counter) = try connectedChannel()
        defer { _ = try? channel.finish() }
        let whole = TestClient.frame(try LDNS.query(ServerFixture.web, "A", id: 9))
        try channel.writeInbound(ByteBuffer(bytes: Array(whole.prefix(5))))
        let before = counter.reads
        channel.read()
        #expect(counter.reads == before + 1, "half a query: read on")
        try channel.writeInbound(ByteBuffer(bytes: Array(whole.dropFirst(5))))
        #expect(try replyIDs(channel) == [9])
    }

    @Test func unwritableForTheIdleTimeoutCloses() throws {
        let (channel, _) = try connectedChannel(idleTimeout: .seconds(2))
        setWritable(channel, false)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1900))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(!channel.isActive, "a client that does not read for the idle timeout is closed")
    }

    @Test func writableAgainBeforeTheTimeoutKeepsTheConnection() throws {
        let (channel, _) = try connectedChannel(idleTimeout: .seconds(2))
        defer { _ = try? channel.finish() }
        setWritable(channel, false)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1500))
        setWritable(channel, true)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(channel.isActive)
        try channel.writeInbound(ByteBuffer(bytes: TestClient.frame(try LDNS.query(ServerFixture.web, "A", id: 11))))
        #expect(try replyIDs(channel) == [11])
    }

    @Test func halfCloseWithQueriesWaitingAnswersThemThenCloses() throws {
        let (channel, _) = try connectedChannel()
        setWritable(channel, false)
        let frames = try (1...2).flatMap { try TestClient.frame(LDNS.query(ServerFixture.web, "A", id: UInt16(20 + $0))) }
        try channel.writeInbound(ByteBuffer(bytes: frames))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        channel.embeddedEventLoop.run()
        #expect(channel.isActive, "its queries are still to be answered")
        setWritable(channel, true)
        channel.embeddedEventLoop.run()
        #expect(try replyIDs(channel) == [21, 22])
        #expect(!channel.isActive)
    }
}
